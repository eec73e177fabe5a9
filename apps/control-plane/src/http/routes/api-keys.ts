import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { generateApiKey } from "../../auth/secrets.js";
import { ApiError } from "../../errors/api-error.js";
import { ROLES, type Role } from "../../store/types.js";
import type { RouteContext } from "../context.js";
import { apiKeyJson } from "../serialize.js";
import { parseInput } from "../validation.js";
import { idParams } from "./agents.js";

const createBody = z.object({ role: z.enum(ROLES as [Role, ...Role[]]) }).strict();

/** The tenant's API keys, for admins: list, create (the key is shown once), revoke. */
export function apiKeyRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get("/api/v1/api-keys", async (request) => {
    const principal = await ctx.auth.authenticate(request, "admin");
    return { api_keys: (await ctx.store.listApiKeys(principal.tenant_id)).map(apiKeyJson) };
  });

  app.post("/api/v1/api-keys", async (request, reply) => {
    const principal = await ctx.auth.authenticate(request, "admin");
    const { role } = parseInput(createBody, request.body, "body");
    const key = generateApiKey();
    const record = await ctx.store.createApiKey({ tenant_id: principal.tenant_id, role, key_hash: key.hash, key_prefix: key.prefix, actor: principal.actor });
    return reply.code(201).send({ ...apiKeyJson(record), api_key: key.key });
  });

  app.post("/api/v1/api-keys/:id/revoke", async (request) => {
    const principal = await ctx.auth.authenticate(request, "admin");
    const { id } = parseInput(idParams, request.params, "params");
    const key = await ctx.store.revokeApiKey({ tenant_id: principal.tenant_id, id, actor: principal.actor, now: Date.now() });
    if (!key) throw new ApiError("NOT_FOUND", `API key ${id} not found`);
    ctx.auth.forgetKey(key.id);
    ctx.log.info({ tenant_id: principal.tenant_id, actor: principal.actor, key_prefix: key.key_prefix }, "API key revoked");
    return apiKeyJson(key);
  });
}
