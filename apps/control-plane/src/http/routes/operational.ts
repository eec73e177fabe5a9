import type { FastifyInstance } from "fastify";
import { isFinalStatus } from "@botmox/protocol";
import { ApiError } from "../../errors/api-error.js";
import { isKeptOnAgent } from "../../store/envelope-error.js";
import type { RouteContext } from "../context.js";
import { parseInput } from "../validation.js";
import { findTenantAgent, idParams } from "./agents.js";

/**
 * Operational data: from the store for "cloud" tenants, through the tunnel from the agent for
 * "local" ones (503 AGENT_OFFLINE when it is not connected).
 */
export function operationalRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const agentOf = (tenantId: string, id: string) => findTenantAgent(ctx.store, tenantId, id);

  app.get("/api/v1/commands/:id/result", async (request) => {
    const principal = await ctx.auth.authenticate(request, "viewer");
    const { id } = parseInput(idParams, request.params, "params");
    const command = await ctx.commands.get(principal.tenant_id, id);
    if (!isFinalStatus(command.status)) throw new ApiError("CONFLICT", `Command ${id} is ${command.status}; it has no result yet`);
    const policy = await ctx.policies.get(principal.tenant_id);
    const fromControlPlane = { id, status: command.status, result: command.result, error: command.error, source: "control-plane" };
    if (policy.operational === "cloud" || (command.status !== "succeeded" && !isKeptOnAgent(command.error))) return fromControlPlane;
    const fromAgent = (await ctx.gateway.requestFromAgent(command.agent_id, "command.result", id)) as { result?: unknown; error?: unknown } | null;
    if (!fromAgent) {
      // An error the control plane made up itself (revoked, expired) was never on the agent: its code is all there is.
      if (command.status !== "succeeded") return fromControlPlane;
      throw new ApiError("NOT_FOUND", `The agent no longer holds the result of ${id} (past its retention)`);
    }
    return { id, status: command.status, result: fromAgent.result ?? null, error: fromAgent.error ?? null, source: "agent" };
  });

  app.get("/api/v1/agents/:id/inventory", async (request) => {
    const principal = await ctx.auth.authenticate(request, "viewer");
    const { id } = parseInput(idParams, request.params, "params");
    await agentOf(principal.tenant_id, id);
    const policy = await ctx.policies.get(principal.tenant_id);
    if (policy.operational === "cloud") return { source: "control-plane", items: await ctx.store.listInventory({ tenant_id: principal.tenant_id, agent_id: id }) };
    return { source: "agent", items: await ctx.gateway.requestFromAgent(id, "inventory") };
  });

  app.get("/api/v1/agents/:id/telemetry", async (request) => {
    const principal = await ctx.auth.authenticate(request, "viewer");
    const { id } = parseInput(idParams, request.params, "params");
    await agentOf(principal.tenant_id, id);
    const telemetry = await ctx.store.getTelemetry(id);
    return telemetry ? { ...telemetry.data, updated_at: new Date(telemetry.updated_at).toISOString() } : { updated_at: null };
  });
}
