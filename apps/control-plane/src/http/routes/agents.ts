import type { FastifyInstance } from "fastify";
import { CLOSE_CODES } from "@botmox/protocol";
import { z } from "zod";
import { ApiError } from "../../errors/api-error.js";
import type { AgentRecord, Store } from "../../store/types.js";
import type { RouteContext } from "../context.js";
import { agentJson } from "../serialize.js";
import { parseInput } from "../validation.js";

/** Ids are stored in lower case; an upper-case spelling of one names the same thing. */
export const idSchema = z.uuid({ message: "must be a UUID" }).transform((id) => id.toLowerCase());
export const idParams = z.object({ id: idSchema });

/** The tenant's agent, or 404: another tenant's agent does not exist for this caller. */
export async function findTenantAgent(store: Store, tenantId: string, id: string): Promise<AgentRecord> {
  const agent = await store.getAgent(id);
  if (!agent || agent.tenant_id !== tenantId) throw new ApiError("NOT_FOUND", `Agent ${id} not found`);
  return agent;
}

export function agentRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const findAgent = (tenantId: string, id: string) => findTenantAgent(ctx.store, tenantId, id);
  const json = (agent: AgentRecord) => agentJson(agent, ctx.gateway.lastHeardFrom(agent.id));

  app.get("/api/v1/agents", async (request) => {
    const principal = await ctx.auth.authenticate(request, "viewer");
    const agents = await ctx.store.listAgents(principal.tenant_id);
    return { agents: agents.map(json) };
  });

  app.get("/api/v1/agents/:id", async (request) => {
    const principal = await ctx.auth.authenticate(request, "viewer");
    const { id } = parseInput(idParams, request.params, "params");
    return json(await findAgent(principal.tenant_id, id));
  });

  app.post("/api/v1/agents/:id/revoke", async (request) => {
    const principal = await ctx.auth.authenticate(request, "admin");
    const { id } = parseInput(idParams, request.params, "params");
    await findAgent(principal.tenant_id, id);
    const agent = await ctx.store.revokeAgent({ tenant_id: principal.tenant_id, agent_id: id, actor: principal.actor, now: Date.now() });
    if (!agent) throw new ApiError("NOT_FOUND", `Agent ${id} not found`);
    ctx.gateway.disconnect(id, CLOSE_CODES.AGENT_REVOKED.code, "agent revoked");
    ctx.bus.publish({ type: "agent.revoked", tenant_id: agent.tenant_id, agent_id: id, at: Date.now() });
    const ended = await ctx.commands.endForRevokedAgent({ ...principal, agent_id: id });
    ctx.log.info({ agent_id: id, tenant_id: agent.tenant_id, actor: principal.actor, commands_ended: ended }, "agent revoked");
    return agentJson(agent);
  });
}
