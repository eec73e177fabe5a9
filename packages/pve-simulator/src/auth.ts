import { PveError } from "./state.js";

export interface TokenGrant {
  secret: string;
  /** Privileges granted everywhere; "*" for all. */
  privileges: "*" | string[];
}

export type Tokens = Record<string, TokenGrant>;

/** `Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET` as pveproxy reads it. */
export function authenticate(header: string | undefined, tokens: Tokens): { tokenId: string; grant: TokenGrant } {
  if (!header) throw new PveError(401, "No ticket");
  const match = /^PVEAPIToken=([^!\s]+@[^!\s]+![^=\s]+)=(\S+)$/.exec(header.trim());
  if (!match) throw new PveError(401, "authentication failure");
  const grant = tokens[match[1]!];
  if (!grant || grant.secret !== match[2]) throw new PveError(401, "authentication failure");
  return { tokenId: match[1]!, grant };
}

export function requirePrivilege(grant: TokenGrant, path: string, privilege: string): void {
  if (grant.privileges === "*" || grant.privileges.includes(privilege)) return;
  throw new PveError(403, `Permission check failed (${path}, ${privilege})`);
}
