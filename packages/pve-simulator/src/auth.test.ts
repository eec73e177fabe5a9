import { describe, expect, test } from "vitest";
import { authenticate, type Tokens } from "./auth.js";

describe("API token authentication", () => {
  test("token ids follow PVE's format: a user with an @ is fine, a one-letter realm or token name is not", () => {
    const ids = ["alice@corp.com@oidc!bot", "root@pam!botmox", "root@pam!a", "root@p!bot"];
    const tokens: Tokens = Object.fromEntries(ids.map((id) => [id, { secret: "s", privileges: "*" }]));
    const outcome = (id: string) => {
      try {
        return authenticate(`PVEAPIToken=${id}=s`, undefined, tokens).tokenId;
      } catch (err) {
        return (err as { status: number }).status;
      }
    };
    expect(ids.map(outcome)).toEqual(["alice@corp.com@oidc!bot", "root@pam!botmox", 401, 401]);
  });
});
