#!/usr/bin/env node
// Committed launcher so npm can link the bin before the TypeScript build exists.
import { existsSync } from "node:fs";

const cli = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(cli)) {
  console.error("botmox-pve-sim is not built yet: run `npm run build` at the repository root");
  process.exit(1);
}
await import(cli.href);
