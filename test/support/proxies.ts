import { writeFileSync, mkdtempSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { connect, type AddressInfo, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";
import { generateCertificate } from "../../packages/pve-simulator/src/certificate.js";

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
}

function track(sockets: Set<Socket>, socket: Socket): void {
  sockets.add(socket);
  socket.on("close", () => sockets.delete(socket));
}

/** A real HTTP CONNECT proxy, as corporate networks run: records each tunnel's target and every byte it relays. */
export async function startConnectProxy() {
  const connects: string[] = [];
  const relayed: Buffer[] = [];
  const sockets = new Set<Socket>();
  let denying = false;
  const server = createHttpServer((_req, res) => res.writeHead(405).end("CONNECT only"));
  server.on("connect", (req, client: Socket, head: Buffer) => {
    track(sockets, client);
    connects.push(req.url ?? "");
    if (denying) {
      client.end("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 22\r\n\r\nblocked by proxy rules");
      return;
    }
    const [host, port] = (req.url ?? "").split(":");
    const upstream = connect(Number(port), host === "localhost" ? "127.0.0.1" : host!, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) upstream.write(head);
      client.on("data", (chunk: Buffer) => relayed.push(chunk));
      upstream.on("data", (chunk: Buffer) => relayed.push(chunk));
      client.pipe(upstream).pipe(client);
    });
    track(sockets, upstream);
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    connects,
    relayedBytes: () => Buffer.concat(relayed),
    /** Answers every CONNECT with 403, as a proxy's access rules do, until set back to false. */
    deny: (value: boolean) => (denying = value),
    close: closer(server, sockets),
  };
}

/** TLS in front of a plain HTTP server (as a reverse proxy terminates it in production), with a private CA in a file. */
export async function startTlsFront(targetPort: number) {
  const certificate = generateCertificate();
  const sockets = new Set<Socket>();
  const server = createTlsServer({ key: certificate.keyPem, cert: certificate.certPem }, (tlsSocket) => {
    track(sockets, tlsSocket);
    const upstream = connect(targetPort, "127.0.0.1");
    track(sockets, upstream);
    tlsSocket.pipe(upstream).pipe(tlsSocket);
    upstream.on("error", () => tlsSocket.destroy());
    tlsSocket.on("error", () => upstream.destroy());
  });
  const port = await listen(server);
  const caFile = join(mkdtempSync(join(tmpdir(), "botmox-ca-")), "ca.pem");
  writeFileSync(caFile, certificate.caPem);
  return { url: `https://localhost:${port}`, port, caFile, close: closer(server, sockets) };
}
