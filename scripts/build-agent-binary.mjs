// Builds the agent as one executable with Node's single-executable-application support:
// esbuild bundles the agent into one CommonJS file, the native addons (better-sqlite3, the
// keyring) ride along as SEA assets, postject injects the blob into a copy of this node binary.
// Everything comes from node_modules: it builds offline. Same script on Linux, macOS, Windows.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, chmodSync, mkdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "apps/agent/package.json"));
const { version } = JSON.parse(readFileSync(join(root, "apps/agent/package.json"), "utf8"));
const work = join(root, "dist", "sea");
const platformName = { win32: "windows", darwin: "macos", linux: "linux" }[process.platform] ?? process.platform;
const output = join(root, "dist", `botmox-agent-${platformName}-${process.arch}${process.platform === "win32" ? ".exe" : ""}`);

function keyringAddon() {
  const suffix = { linux: "-gnu", win32: "-msvc" }[process.platform] ?? "";
  const pkg = `@napi-rs/keyring-${process.platform}-${process.arch}${suffix}`;
  const dir = dirname(require.resolve(`${pkg}/package.json`));
  return join(dir, `keyring.${process.platform}-${process.arch}${suffix}.node`);
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const keyringShim = join(root, "apps/agent/src/native/keyring-from-executable.ts");
await build({
  entryPoints: [join(root, "apps/agent/src/cli.ts")],
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  outfile: join(work, "agent.cjs"),
  define: {
    "globalThis.__BOTMOX_AGENT_VERSION__": JSON.stringify(version),
    // ws probes optional native helpers with require(), which a single executable cannot load.
    "process.env.WS_NO_BUFFER_UTIL": JSON.stringify("1"),
    "process.env.WS_NO_UTF_8_VALIDATE": JSON.stringify("1"),
  },
  logLevel: "warning",
  // import.meta only feeds fallbacks that the baked-in version makes unused.
  logOverride: { "empty-import-meta": "silent" },
  plugins: [
    {
      name: "native-addons-from-the-executable",
      setup(b) {
        b.onResolve({ filter: /^@napi-rs\/keyring$/ }, () => ({ path: keyringShim }));
      },
    },
  ],
});

const seaConfig = {
  main: join(work, "agent.cjs"),
  output: join(work, "agent.blob"),
  disableExperimentalSEAWarning: true,
  assets: {
    "better_sqlite3.node": join(dirname(require.resolve("better-sqlite3/package.json")), "build", "Release", "better_sqlite3.node"),
    "keyring.node": keyringAddon(),
  },
};
writeFileSync(join(work, "sea-config.json"), JSON.stringify(seaConfig, null, 2));
execFileSync(process.execPath, ["--experimental-sea-config", join(work, "sea-config.json")], { stdio: "inherit" });

copyFileSync(process.execPath, output);
chmodSync(output, 0o755);
if (process.platform === "darwin") execFileSync("codesign", ["--remove-signature", output]);
const postject = join(dirname(require.resolve("postject/package.json")), "dist", "cli.js");
execFileSync(
  process.execPath,
  [postject, output, "NODE_SEA_BLOB", seaConfig.output, "--sentinel-fuse", "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2", ...(process.platform === "darwin" ? ["--macho-segment-name", "NODE_SEA"] : [])],
  { stdio: ["ignore", "ignore", "inherit"] },
);
if (process.platform === "darwin") execFileSync("codesign", ["--sign", "-", output]);

const sha256 = createHash("sha256").update(readFileSync(output)).digest("hex");
writeFileSync(`${output}.sha256`, `${sha256}  ${output.split(/[\\/]/).pop()}\n`);
console.log(`built ${output}`);
console.log(`sha256 ${sha256}`);
