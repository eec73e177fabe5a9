import type { Socket } from "node:net";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { MAX_FRAME_BYTES } from "@botmox/protocol";
import { ApiError, toApiError } from "../errors/api-error.js";
import type { RouteContext } from "./context.js";
import { agentRoutes } from "./routes/agents.js";
import { apiKeyRoutes } from "./routes/api-keys.js";
import { auditRoutes } from "./routes/audit.js";
import { commandRoutes } from "./routes/commands.js";
import { eventRoutes } from "./routes/events.js";
import { healthRoutes } from "./routes/health.js";
import { operationalRoutes } from "./routes/operational.js";
import { pairingRoutes } from "./routes/pairings.js";
import { settingsRoutes } from "./routes/settings.js";

export function buildHttpServer(ctx: RouteContext): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: MAX_FRAME_BYTES,
    return503OnClosing: true,
    // A path the router cannot take (bad percent-encoding, a segment over 100 characters): the usual error body.
    frameworkErrors: (err, _request, reply) => {
      const error = new ApiError("BAD_REQUEST", err.message, [{ path: "(url)", message: err.message }]);
      void (reply as FastifyReply).code(error.status).send(error.toBody());
    },
  });
  cutOffSilentClients(app, ctx.config.HTTP_REQUEST_TIMEOUT_MS);
  // JSON only: a text/plain body (what fetch sends a string as) gets the content-type message, not a schema error about a string.
  app.removeContentTypeParser("text/plain");
  app.addHook("preParsing", (request, _reply, payload, done) => {
    const encoding = request.headers["content-encoding"];
    if (encoding && encoding !== "identity") {
      return done(new ApiError("BAD_REQUEST", `Content-Encoding ${encoding} is not supported: send the JSON body uncompressed`, [{ path: "(headers).content-encoding", message: "not supported" }]));
    }
    done(null, payload);
  });

  app.setErrorHandler((err, request, reply) => {
    // The client left before its request was in (a cut-off, a reset): nobody to answer, nothing to report.
    if (request.raw.destroyed && (err as { code?: string }).code === "ECONNRESET") return;
    const error = toApiError(err);
    if (error.status >= 500 && error.code === "INTERNAL") ctx.log.error({ err, url: request.url, method: request.method }, "request failed");
    return reply.code(error.status).headers(error.headers).send(error.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new ApiError("NOT_FOUND", `No route ${request.method} ${request.url.split("?", 1)[0]}`);
    return reply.code(404).send(error.toBody());
  });
  app.addHook("onResponse", (request, reply, done) => {
    const route = request.routeOptions.url ?? "unmatched";
    ctx.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    ctx.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });

  for (const register of [healthRoutes, pairingRoutes, agentRoutes, apiKeyRoutes, commandRoutes, eventRoutes, auditRoutes, settingsRoutes, operationalRoutes]) register(app, ctx);
  return app;
}

/**
 * A client that does not finish sending its request (or upgrade) in time is cut off: otherwise
 * anyone who reaches the port could hold connections open until descriptors run out. A new
 * connection gets an idle timer until its first request's headers are in (an upgraded socket is
 * the gateway's: ws clears the timer and runs its own heartbeat); then every request, the later
 * ones of a keep-alive connection too, has `limitMs` to deliver its body. Once a request is in,
 * nothing is timed: long ?wait= answers and event streams are not cut.
 */
function cutOffSilentClients(app: FastifyInstance, limitMs: number): void {
  app.server.on("connection", (socket: Socket) => socket.setTimeout(limitMs));
  const receiving = new WeakMap<object, NodeJS.Timeout>();
  const received = (request: FastifyRequest) => {
    clearTimeout(receiving.get(request.raw));
    receiving.delete(request.raw);
  };
  app.addHook("onRequest", (request, _reply, done) => {
    receiving.set(request.raw, setTimeout(() => request.raw.socket.destroy(), limitMs).unref());
    done();
  });
  app.addHook("preHandler", (request, _reply, done) => {
    received(request);
    request.raw.socket.setTimeout(0);
    done();
  });
  // Answered before its handler (a 400, a 404): its timer must not cut the connection's next request.
  app.addHook("onResponse", (request, _reply, done) => {
    received(request);
    done();
  });
}
