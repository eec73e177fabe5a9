import { describe, expect, test } from "vitest";
import { startControlPlane } from "../support/botmox.js";

describe("botmox-cp admin commands on bad input", () => {
  test("a missing option value or a tenant name no store accepts is a usage error (exit 2) naming the problem", async () => {
    await using cp = await startControlPlane();
    const missingValue = await cp.cli(["tenants", "create", "--name"]);
    expect(missingValue.code).toBe(2);
    expect(missingValue.output).toContain("Usage:");

    const tooLong = await cp.cli(["tenants", "create", "--name", "x".repeat(201)]);
    expect(tooLong.code).toBe(2);
    expect(tooLong.output).toContain("--name must be 1 to 200 characters, not 201");

    const longest = await cp.cli(["tenants", "create", "--name", "x".repeat(200)]);
    expect(longest.code, longest.output).toBe(0);
    const noTenant = await cp.cli(["api-keys", "create", "--role", "admin", "--tenant"]);
    expect(noTenant.code).toBe(2);
  });
});
