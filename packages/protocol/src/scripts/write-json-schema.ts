import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { AGENT_TO_SERVER } from "../messages/agent-to-server.js";
import { SERVER_TO_AGENT } from "../messages/server-to-agent.js";
import { COMMANDS } from "../commands/catalog.js";

const outDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "schema");

function write(file: string, schema: z.ZodType): void {
  const path = join(outDir, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }), null, 2) + "\n");
}

let count = 0;
for (const [type, schema] of Object.entries(AGENT_TO_SERVER)) {
  write(`messages/agent-to-server/${type}.json`, schema);
  count++;
}
for (const [type, schema] of Object.entries(SERVER_TO_AGENT)) {
  write(`messages/server-to-agent/${type}.json`, schema);
  count++;
}
for (const [name, spec] of Object.entries(COMMANDS)) {
  write(`commands/${name}.params.json`, spec.params);
  write(`commands/${name}.result.json`, spec.result);
  count += 2;
}
console.log(`wrote ${count} JSON Schema files to ${outDir}`);
