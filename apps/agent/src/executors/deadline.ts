/**
 * A signal for one piece of work: aborts when `parent` does (with its reason) or after
 * `timeoutMs` (a TimeoutError). `release()` lets go of `parent` once the work is done.
 * AbortSignal.any() would do the same, but a long-lived parent keeps every signal made from it
 * alive for as long as the parent lives: one per request or collection, never freed.
 */
export function deadlineSignal(parent: AbortSignal | undefined, timeoutMs: number): { signal: AbortSignal; release(): void } {
  parent?.throwIfAborted();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, "TimeoutError")), timeoutMs);
  const onAbort = () => controller.abort(parent!.reason);
  parent?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    release: () => {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onAbort);
    },
  };
}
