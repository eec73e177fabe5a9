import { Worker } from "node:worker_threads";

// Runs in a worker thread with its own connection, so the fsync of a checkpoint never blocks
// the event loop that serves requests. PASSIVE never waits for, or blocks, the writer.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma("busy_timeout = 1000");
const timer = setInterval(() => {
  try { db.pragma("wal_checkpoint(PASSIVE)"); } catch (err) { parentPort.postMessage(String(err && err.message)); }
}, workerData.intervalMs);
parentPort.on("message", () => { clearInterval(timer); db.close(); process.exit(0); });
`;

/** Background WAL checkpoints for a file-backed SQLite database. */
export class Checkpointer {
  private readonly worker: Worker;

  constructor(file: string, driverPath: string, intervalMs = 1_000, onError: (message: string) => void = () => {}) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver: driverPath, intervalMs } });
    this.worker.on("message", onError);
    this.worker.unref();
  }

  async stop(): Promise<void> {
    this.worker.ref(); // keep the process alive until the worker has closed its connection
    const exited = new Promise((resolve) => this.worker.once("exit", resolve));
    this.worker.postMessage("stop");
    await exited;
  }
}
