import { createInterface } from "node:readline";
import { Writable } from "node:stream";

/** Reads a secret from the terminal without echoing it. */
export function promptHidden(question: string): Promise<string> {
  if (!process.stdin.isTTY) throw new Error("No terminal to prompt on: pass the secret with --secret-stdin");
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve, reject) => {
    // A terminal's Ctrl-C reaches readline, not the process: without this it only paused the prompt.
    rl.once("SIGINT", () => {
      rl.close();
      process.stderr.write("\n");
      reject(Object.assign(new Error("Cancelled at the prompt; nothing was stored"), { exitCode: 130 }));
    });
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write("\n");
      resolve(answer.trim());
    });
    muted = true;
  });
}
