/**
 * The most an upstream API (Proxmox VE, SyncThing) may answer with in one body. The largest real
 * answers (a big cluster's resource list, a busy event batch) are a few MiB; a server going on
 * past this is broken or hostile, and would otherwise grow one string until the process fails.
 */
export const MAX_UPSTREAM_ANSWER_BYTES = 16 * 1024 * 1024;

/** The body as text, or `tooLarge()` thrown past MAX_UPSTREAM_ANSWER_BYTES instead of reading it all into memory. */
export async function readCapped(body: AsyncIterable<Uint8Array>, tooLarge: () => Error): Promise<string> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    // Leaving the loop cancels the rest of the body.
    if (bytes > MAX_UPSTREAM_ANSWER_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
