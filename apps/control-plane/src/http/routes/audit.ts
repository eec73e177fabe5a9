import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { RouteContext } from "../context.js";
import { auditJson } from "../serialize.js";
import { parseInput } from "../validation.js";

const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  after_id: z.coerce.number().int().min(0).optional(),
});

export function auditRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get("/api/v1/audit", async (request) => {
    const principal = await ctx.auth.authenticate(request, "viewer");
    const query = parseInput(auditQuery, request.query, "query");
    const entries = await ctx.store.listAudit({ tenant_id: principal.tenant_id, limit: query.limit, ...(query.after_id !== undefined ? { after_id: query.after_id } : {}) });
    const last = entries.at(-1);
    return { entries: entries.map(auditJson), next_after_id: entries.length === query.limit && last ? last.id : null };
  });
}
