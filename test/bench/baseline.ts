/**
 * The bare path the full stack is compared with: an HTTP server that forwards each request body
 * over a plain `ws` socket to an echo client and answers with what comes back. No auth,
 * validation or storage. Run as `baseline.ts server PORT` and `baseline.ts client PORT`.
 */
import { createServer } from "node:http";
import WebSocket, { WebSocketServer } from "ws";

const [mode, portArg] = process.argv.slice(2);
const port = Number(portArg);

if (mode === "server") {
  const pending = new Map<number, (body: string) => void>();
  let nextId = 0;
  let socket: WebSocket | undefined;
  const wss = new WebSocketServer({ noServer: true });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const id = nextId++;
      pending.set(id, (body) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(body);
      });
      socket!.send(JSON.stringify({ id, body: Buffer.concat(chunks).toString("utf8") }));
    });
  });
  server.on("upgrade", (req, sock, head) =>
    wss.handleUpgrade(req, sock, head, (ws) => {
      socket = ws;
      ws.on("message", (data) => {
        const { id, body } = JSON.parse(data.toString()) as { id: number; body: string };
        pending.get(id)?.(body);
        pending.delete(id);
      });
      console.log("ready");
    }),
  );
  server.listen(port, "127.0.0.1");
} else {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  ws.on("message", (data) => ws.send(data.toString()));
}
