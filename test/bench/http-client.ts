import { Pool } from "undici";

/**
 * Keep-alive JSON POSTs through undici, which costs about half the CPU of node:http per request:
 * the load generator shares the two cores with what it measures, so it must stay light.
 */
export function jsonPoster(baseUrl: string, headers: Record<string, string>, connections: number) {
  const pool = new Pool(baseUrl, { connections, pipelining: 1 });
  const allHeaders = { ...headers, "content-type": "application/json" };
  const post = async (path: string, body: unknown): Promise<{ status: number; body: any }> => {
    const response = await pool.request({ path, method: "POST", headers: allHeaders, body: JSON.stringify(body) });
    return { status: response.statusCode, body: await response.body.json() };
  };
  return { post, close: () => pool.destroy() };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
