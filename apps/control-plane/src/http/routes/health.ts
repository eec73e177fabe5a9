import type { FastifyInstance } from "fastify";
import type { RouteContext } from "../context.js";

export function healthRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get("/api/v1/health", async (_request, reply) => {
    const store = await ctx.store.health();
    const body = {
      status: store.ok ? "ok" : "degraded",
      time: new Date().toISOString(),
      store: { backend: ctx.store.kind, ...store },
      agents_connected: ctx.gateway.connectedCount,
    };
    return reply.code(store.ok ? 200 : 503).send(body);
  });

  app.get("/metrics", async (_request, reply) => {
    return reply.header("content-type", ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
}
