import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
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
  const limitMs = ctx.config.HTTP_REQUEST_TIMEOUT_MS;
  const app = Fastify({
    logger: false,
    // A client that does not finish sending its request (or upgrade) in time is cut off, or anyone
    // who reaches the port could hold connections until descriptors run out. Node times each request
    // from its first byte (a new connection from its opening) until it is in, keep-alive ones too;
    // once in, nothing is timed: long ?wait= answers and event streams are not cut.
    requestTimeout: limitMs,
    http: { headersTimeout: limitMs, connectionsCheckingInterval: Math.min(1_000, limitMs) },
    bodyLimit: MAX_FRAME_BYTES,
    return503OnClosing: true,
    // A path the router cannot take (bad percent-encoding, a segment over 100 characters): the usual error body.
    frameworkErrors: (err, _request, reply) => {
      const error = new ApiError("BAD_REQUEST", err.message, [{ path: "(url)", message: err.message }]);
      void (reply as FastifyReply).code(error.status).send(error.toBody());
    },
  });
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

  // A ?wait= of up to five minutes would otherwise hold a shutdown that long; the connections of
  // the answers given meanwhile close after them (an idle keep-alive one would hold it too).
  let closing = false;
  app.addHook("preClose", (done) => {
    closing = true;
    ctx.commands.releaseWaiters();
    done();
  });
  app.addHook("onSend", (_request, reply, _payload, done) => {
    if (closing) reply.header("connection", "close");
    done();
  });

  for (const register of [healthRoutes, pairingRoutes, agentRoutes, apiKeyRoutes, commandRoutes, eventRoutes, auditRoutes, settingsRoutes, operationalRoutes]) register(app, ctx);
  return app;
}

