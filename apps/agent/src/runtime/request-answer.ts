import type { ServerToAgent } from "@botmox/protocol";

type Request = ServerToAgent<"request">["payload"];
type Response = { request_id: string; ok: true; data: unknown } | { request_id: string; ok: false; error: { code: string; message: string } };

/**
 * Answers the control plane's request for data it does not keep ("local" tenants). An answer the
 * tunnel refuses (over the frame limit, or holding a vault secret; it logs which) is replaced by a
 * failure, so the operator hears why at once instead of a timeout that blames the connection.
 */
export function answerRequest(request: Request, read: (request: Request) => unknown, send: (response: Response) => boolean): void {
  const fail = (code: string, message: string) => void send({ request_id: request.request_id, ok: false, error: { code, message } });
  let data: unknown;
  try {
    data = read(request);
  } catch (err) {
    return fail("INTERNAL", (err as Error).message);
  }
  if (!send({ request_id: request.request_id, ok: true, data })) {
    fail("EXECUTION_FAILED", "The agent would not send its answer: it is over the frame size limit or holds a vault secret (the agent's log says which)");
  }
}
