import type { FastifyInstance } from "fastify";
import type { RouteContext } from "../context.js";

/** GET | PUT | PATCH /api/v1/settings/storage_policy: viewers read, admins change (PUT replaces, PATCH merges). */
export function settingsRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get("/api/v1/settings/storage_policy", async (request) => {
    const principal = await ctx.auth.authenticate(request, "viewer");
    return ctx.policies.get(principal.tenant_id);
  });
  for (const method of ["PUT", "PATCH"] as const) {
    app.route({
      method,
      url: "/api/v1/settings/storage_policy",
      handler: async (request) => {
        const principal = await ctx.auth.authenticate(request, "admin");
        const { policy, purged } = await ctx.policies.update({ tenant_id: principal.tenant_id, actor: principal.actor, body: request.body, merge: method === "PATCH" });
        ctx.log.info({ tenant_id: principal.tenant_id, actor: principal.actor, operational: policy.operational, purged }, "storage policy changed");
        return purged ? { ...policy, purged } : policy;
      },
    });
  }
}
