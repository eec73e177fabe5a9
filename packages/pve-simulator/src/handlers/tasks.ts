import { PveError } from "../state.js";
import type { Handler, HandlerContext } from "./context.js";
import { str } from "./context.js";

function task(ctx: HandlerContext) {
  const found = ctx.tasks.all.get(str(ctx, "upid"));
  if (!found || found.node !== ctx.params.node) throw new PveError(500, `unable to parse worker upid '${str(ctx, "upid")}'`);
  if (ctx.grant.privileges !== "*" && !ctx.grant.privileges.includes("Sys.Audit") && found.user !== ctx.user) {
    throw new PveError(403, `Permission check failed (/nodes/${found.node}, Sys.Audit)`);
  }
  return found;
}

export const taskHandlers: Record<string, Handler> = {
  "GET /nodes/{node}/tasks/{upid}/status": (ctx) => {
    const found = task(ctx);
    return {
      upid: found.upid,
      node: found.node,
      pid: found.pid,
      pstart: found.pstart,
      starttime: found.starttime,
      type: found.type,
      id: found.id,
      user: found.user,
      status: found.status,
      ...(found.exitstatus !== undefined ? { exitstatus: found.exitstatus } : {}),
    };
  },
  "GET /nodes/{node}/tasks/{upid}/log": (ctx) => {
    const found = task(ctx);
    const start = Number(ctx.params.start ?? 0);
    const limit = Number(ctx.params.limit ?? 50);
    return found.log.slice(start, start + limit).map((t, index) => ({ n: start + index + 1, t }));
  },
};
