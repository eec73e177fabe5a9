/** Reads a Server-Sent Events stream and keeps every event, for assertions. */
export async function openEventStream(url: string, apiKey: string) {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { authorization: `Bearer ${apiKey}` }, signal: controller.signal });
  if (!response.ok || !response.body) throw new Error(`event stream answered ${response.status}`);
  const events: Array<{ event: string; data: any }> = [];
  const waiters = new Set<() => void>();
  const ended = (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
          for (const waiter of waiters) waiter();
        }
      }
    } catch {
      /* closed */
    }
  })();
  return {
    events,
    /** Settles when the server ends the stream (or it is closed here). */
    ended,
    waitFor(predicate: (event: { event: string; data: any }) => boolean, timeoutMs = 30_000): Promise<{ event: string; data: any }> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(predicate);
          if (!found) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`SSE event not seen within ${timeoutMs} ms; saw: ${events.map((e) => e.event).join(", ")}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => controller.abort(),
  };
}
