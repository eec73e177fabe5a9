import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { BUS_EVENT_TYPES, type BusEvent } from "../../events/bus.js";
import { ApiError, toApiError } from "../../errors/api-error.js";
import type { RouteContext } from "../context.js";
import { eventJson } from "../serialize.js";
import { parseInput } from "../validation.js";
import { findTenantAgent, idSchema } from "./agents.js";

/**
 * A reader this far behind is cut off: what it has not read waits in the control plane's memory,
 * and one that stopped reading would hold more with every event. Far above what a live reader
 * leaves unread, and above the largest single event (params and result, each up to a frame).
 */
const MAX_UNREAD_BYTES = 8 * 1024 * 1024;
/** How long the cut-off notice gets to reach a reader before its socket is closed outright. */
const CUT_OFF_GRACE_MS = 10_000;
const eventsQuery = z.object({
  agent_id: idSchema.optional(),
  types: z
    .string()
    .max(500)
    .transform((list) => list.split(",").map((type) => type.trim()).filter(Boolean))
    .pipe(z.array(z.enum(BUS_EVENT_TYPES, { error: `each one of ${BUS_EVENT_TYPES.join(", ")}` })))
    .optional()
    .describe("comma-separated event types, e.g. command.updated,agent.online"),
});

/** Every stream of a tenant gets the same event: it is turned into JSON once, not once per stream. */
const eventData = new WeakMap<BusEvent, string>();
function dataOf(event: BusEvent): string {
  let data = eventData.get(event);
  if (data === undefined) eventData.set(event, (data = JSON.stringify(eventJson(event))));
  return data;
}

function agentOf(event: BusEvent): string {
  return event.type === "command.updated" ? event.command.agent_id : event.agent_id;
}

/** Server-Sent Events: command status changes, progress and agent online/offline of the caller's tenant. */
export function eventRoutes(app: FastifyInstance, ctx: RouteContext): void {
  // Streams never end on their own; closing the server would wait for them forever.
  const open = new Set<() => void>();
  app.addHook("preClose", (done) => {
    for (const end of open) end();
    done();
  });

  app.get("/api/v1/events", async (request, reply) => {
    const principal = await ctx.auth.authenticate(request, "viewer");
    const query = parseInput(eventsQuery, request.query, "query");
    const types = query.types?.length ? new Set<string>(query.types) : null; // "types=" alone: every type
    // A stream filtered on an agent that is not the caller's would stay silent for good.
    if (query.agent_id) await findTenantAgent(ctx.store, principal.tenant_id, query.agent_id);
    reply.hijack();
    const res = reply.raw;
    // A reader that left while it was being authenticated: its close event is gone already.
    if (request.raw.destroyed) return void res.destroy();
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" });
    res.write(": connected\n\n");
    let sequence = 0;
    const unsubscribe = ctx.bus.subscribeTenant(principal.tenant_id, (event) => {
      if (types && !types.has(event.type)) return;
      if (query.agent_id && agentOf(event) !== query.agent_id) return;
      res.write(`id: ${++sequence}\nevent: ${event.type}\ndata: ${dataOf(event)}\n\n`);
      if (res.writableLength > MAX_UNREAD_BYTES) cutOff();
    });
    // Credentials can lapse while a stream is open (a JWT expires, a key is revoked, a membership
    // ends): they are checked again at every keep-alive, and a stream they no longer allow ends.
    // The keep-alive goes out whatever the check is doing (a hung store must not let proxies cut the
    // stream), and one check at a time per stream.
    let checking = false;
    let unchecked = false; // said once per outage, not at every keep-alive
    const keepalive = setInterval(() => {
      res.write(": keep-alive\n\n");
      if (checking) return;
      checking = true;
      ctx.auth
        .authenticate(request, "viewer")
        .then(
          (again) => {
            unchecked = false;
            if (again.tenant_id !== principal.tenant_id) lapsed(new ApiError("FORBIDDEN", "The credentials now name another tenant"));
          },
          (err: unknown) => {
            const error = toApiError(err);
            if (error.status === 401 || error.status === 403) return lapsed(error);
            // The store being down is no reason to end it.
            if (!unchecked) ctx.log.warn({ code: error.code, message: error.message }, "could not check an event stream's credentials again; it stays open");
            unchecked = true;
          },
        )
        .finally(() => (checking = false));
    }, ctx.config.SSE_KEEPALIVE_MS);
    ctx.metrics.sseOpen.inc();
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      ctx.metrics.sseOpen.dec();
      open.delete(end);
      unsubscribe();
      clearInterval(keepalive);
    };
    const end = () => res.end();
    const cutOff = () => {
      stop();
      ctx.metrics.sseCutOff.inc();
      ctx.log.warn({ tenant_id: principal.tenant_id, actor: principal.actor, unread_bytes: res.writableLength }, "event stream reader too slow; stream cut off");
      const notice = { code: "CONSUMER_TOO_SLOW", message: `The stream fell more than ${MAX_UNREAD_BYTES} bytes behind and was closed; reconnect and read the current state from the API` };
      // The connection goes too, not only the response: a reader this slow gets no keep-alive.
      const socket = res.socket;
      res.end(`id: ${++sequence}\nevent: stream.overflow\ndata: ${JSON.stringify(notice)}\n\n`, () => socket?.end());
      setTimeout(() => socket?.destroy(), CUT_OFF_GRACE_MS).unref();
    };
    const lapsed = (error: ApiError) => {
      if (stopped) return;
      stop();
      res.end(`id: ${++sequence}\nevent: stream.unauthorized\ndata: ${JSON.stringify(error.toBody().error)}\n\n`);
    };
    open.add(end);
    request.raw.on("close", stop);
  });
}
