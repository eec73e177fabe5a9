import type { FastifyInstance, FastifyReply } from "fastify";
import { commandStatusSchema, isFinalStatus } from "@botmox/protocol";
import { z } from "zod";
import { ApiError } from "../../errors/api-error.js";
import { submitBodySchema } from "../../commands/command-service.js";
import type { CommandRecord } from "../../store/types.js";
import type { RouteContext } from "../context.js";
import { commandJson } from "../serialize.js";
import { parseInput } from "../validation.js";
import { idParams } from "./agents.js";

const MAX_WAIT_S = 300;
const waitQuery = z.object({ wait: z.coerce.number().min(0).max(MAX_WAIT_S).optional() });
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50), status: commandStatusSchema.optional() });

function sendCommand(reply: FastifyReply, command: CommandRecord, extra: Record<string, unknown> = {}) {
  return reply.code(isFinalStatus(command.status) ? 200 : 202).send({ ...commandJson(command), ...extra });
}

export function commandRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post("/api/v1/agents/:id/commands", async (request, reply) => {
    const principal = await ctx.auth.authenticate(request, "operator");
    const { id } = parseInput(idParams, request.params, "params");
    const { wait } = parseInput(waitQuery, request.query, "query");
    const body = parseInput(submitBodySchema, request.body, "body");
    const idempotencyKey = request.headers["idempotency-key"];
    if (Array.isArray(idempotencyKey) || (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > 200))) {
      throw new ApiError("BAD_REQUEST", "Invalid Idempotency-Key header", [{ path: "(headers).idempotency-key", message: "must be one value of 1 to 200 characters" }]);
    }
    const { command, created } = await ctx.commands.submit({ ...principal, agent_id: id, body, idempotencyKey: idempotencyKey ?? null });
    if (created) ctx.metrics.commandsSubmitted.inc();
    // A new command cannot have moved on before it was sent; a repeat found by its Idempotency-Key may have.
    const final = wait ? await ctx.commands.waitForFinal(principal.tenant_id, command.id, wait * 1000, created ? command : undefined) : command;
    return sendCommand(reply, final);
  });

  app.get("/api/v1/commands/:id", async (request, reply) => {
    const principal = await ctx.auth.authenticate(request, "viewer");
    const { id } = parseInput(idParams, request.params, "params");
    const { wait } = parseInput(waitQuery, request.query, "query");
    const command = wait ? await ctx.commands.waitForFinal(principal.tenant_id, id, wait * 1000) : await ctx.commands.get(principal.tenant_id, id);
    return sendCommand(reply, command);
  });

  app.post("/api/v1/commands/:id/cancel", async (request, reply) => {
    const principal = await ctx.auth.authenticate(request, "operator");
    const { id } = parseInput(idParams, request.params, "params");
    const { command, cancel } = await ctx.commands.cancel({ ...principal, id });
    return sendCommand(reply, command, { cancel });
  });

  app.get("/api/v1/agents/:id/commands", async (request) => {
    const principal = await ctx.auth.authenticate(request, "viewer");
    const { id } = parseInput(idParams, request.params, "params");
    const { limit, status } = parseInput(listQuery, request.query, "query");
    const commands = await ctx.commands.list(principal.tenant_id, id, limit, status);
    return { commands: commands.map(commandJson) };
  });
}
