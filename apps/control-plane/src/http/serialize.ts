import type { BusEvent } from "../events/bus.js";
import type { AgentRecord, ApiKeyRecord, AuditEntry, CommandRecord } from "../store/types.js";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** `heardAt`: when a live session last heard from the agent, newer than the stored connect time. */
export function agentJson(agent: AgentRecord, heardAt?: number) {
  return {
    id: agent.id,
    tenant_id: agent.tenant_id,
    name: agent.name,
    status: agent.status,
    hostname: agent.hostname,
    version: agent.version,
    platform: agent.platform,
    arch: agent.arch,
    capabilities: agent.capabilities,
    last_seen_at: iso(heardAt !== undefined && agent.status === "online" ? Math.max(heardAt, agent.last_seen_at ?? 0) : agent.last_seen_at),
    connected_at: iso(agent.connected_at),
    created_at: iso(agent.created_at),
    revoked_at: iso(agent.revoked_at),
    policy_version_applied: agent.policy_version_applied,
  };
}

export function apiKeyJson(key: ApiKeyRecord) {
  return { id: key.id, role: key.role, key_prefix: key.key_prefix, created_at: iso(key.created_at), revoked_at: iso(key.revoked_at) };
}

export function commandJson(command: CommandRecord) {
  return {
    id: command.id,
    agent_id: command.agent_id,
    name: command.name,
    status: command.status,
    params: command.params,
    result: command.result,
    error: command.error,
    actor: command.actor,
    timeout_ms: command.timeout_ms,
    created_at: iso(command.created_at),
    dispatched_at: iso(command.dispatched_at),
    started_at: iso(command.started_at),
    finished_at: iso(command.finished_at),
    expires_at: iso(command.expires_at),
    cancel_requested_at: iso(command.cancel_requested_at),
    attempts: command.attempts,
  };
}

export function auditJson(entry: AuditEntry) {
  return { ...entry, created_at: iso(entry.created_at) };
}

export function eventJson(event: BusEvent) {
  switch (event.type) {
    case "command.updated":
      return { type: event.type, command: commandJson(event.command) };
    case "command.progress":
    case "agent.event":
      return { ...event, tenant_id: undefined, at: iso(event.at) };
    default:
      return { type: event.type, agent_id: event.agent_id, at: iso(event.at) };
  }
}
