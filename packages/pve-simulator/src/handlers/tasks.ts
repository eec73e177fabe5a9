import { fail, paramError } from "../errors.js";
import type { Task } from "../tasks.js";
import { authuser, check, str, type Handler, type HandlerContext } from "./context.js";

/** A response with pveproxy's `total` next to `data`. */
export class WithTotal {
  constructor(
    readonly data: unknown,
    readonly total: number,
  ) {}
}

const UPID = /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

/** `PVE::UPID::decode` plus the token split the tasks API does (`root@pam!botmox` → user and tokenid). */
function decode(upid: string) {
  const match = UPID.exec(upid);
  if (!match) throw paramError({ upid: "unable to parse worker upid" });
  const [user = "", tokenid] = match[8]!.split("!");
  return { node: match[1]!, pid: parseInt(match[3]!, 16), pstart: parseInt(match[4]!, 16), starttime: parseInt(match[5]!, 16), type: match[6]!, id: match[7]!, user, ...(tokenid ? { tokenid } : {}) };
}

/** A token sees its own tasks, a user its own and its tokens'; anyone else needs Sys.Audit on the node. */
function checkTaskUser(ctx: HandlerContext, owner: string): void {
  const me = authuser(ctx);
  const [ownerUser] = owner.split("!");
  if (me === owner || me === ownerUser) return;
  check(ctx, `/nodes/${str(ctx, "node")}`, ["Sys.Audit"]);
}

/** The task log file on the queried node (tasks live on the node that ran them). */
const taskOn = (ctx: HandlerContext, upid: string): Task | undefined => {
  const task = ctx.tasks.all.get(upid);
  return task && task.node === str(ctx, "node") ? task : undefined;
};

export const taskHandlers: Record<string, Handler> = {
  "GET /nodes/{node}/tasks/{upid}/status": (ctx) => {
    const upid = str(ctx, "upid");
    const decoded = decode(upid);
    const task = taskOn(ctx, upid);
    if (!task) throw paramError({ upid: "no such task" });
    checkTaskUser(ctx, task.user);
    return { ...decoded, upid, status: task.status, ...(task.status === "stopped" ? { exitstatus: task.exitstatus } : {}) };
  },
  "GET /nodes/{node}/tasks/{upid}/log": (ctx) => {
    const upid = str(ctx, "upid");
    const decoded = decode(upid);
    checkTaskUser(ctx, decoded.tokenid ? `${decoded.user}!${decoded.tokenid}` : decoded.user);
    if (ctx.params.download === true) {
      if (ctx.params.start !== undefined || ctx.params.limit !== undefined) throw fail("'download' cannot be used together with 'start' or 'limit' parameters");
      throw fail("log download is not modelled by the simulator");
    }
    const task = taskOn(ctx, upid);
    if (!task) return new WithTotal([{ n: 1, t: "unable to open file - No such file or directory" }], 1);
    const start = Number(ctx.params.start ?? 0);
    const limit = Number(ctx.params.limit ?? 50);
    const lines = task.log.slice(start, limit === 0 ? undefined : start + limit).map((t, index) => ({ n: start + index + 1, t }));
    if (task.log.length === 0) return new WithTotal([{ n: 1, t: "no content" }], 1);
    return new WithTotal(lines, task.log.length);
  },
};

