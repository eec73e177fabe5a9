import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { checkFolderPath } from "./folder-roots.js";

const dir = mkdtempSync(join(tmpdir(), "folder-roots-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("folder roots", () => {
  test("a path under a root that cannot be followed (a link loop) is refused, not taken as written; one not created yet is judged as written", () => {
    const root = join(dir, "share");
    mkdirSync(root);
    symlinkSync(join(root, "b"), join(root, "a"));
    symlinkSync(join(root, "a"), join(root, "b"));
    const check = (path: string) => checkFolderPath({ target: "st", path, roots: [root], agentHome: join(dir, "home") });
    expect(() => check(join(root, "a", "bots"))).toThrow(/cannot be resolved \(ELOOP\)/);
    expect(check(join(root, "new", "bots"))).toBe(join(root, "new", "bots"));
  });
});
