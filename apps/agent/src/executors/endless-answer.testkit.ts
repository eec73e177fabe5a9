import type { ServerResponse } from "node:http";

/** Answers 200 and writes megabytes of spaces until the client goes away: a body with no end. */
export function writeForever(res: ServerResponse): void {
  res.on("error", () => {});
  res.writeHead(200, { "content-type": "application/json" });
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  const more = () => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once("drain", more);
  };
  more();
}
