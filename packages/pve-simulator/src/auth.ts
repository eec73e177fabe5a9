import { PveError, permError } from "./errors.js";

export interface TokenGrant {
  secret: string;
  /**
   * What the token may do: "*" (everything everywhere), a list of privileges granted on every
   * path, or ACL entries `path → privileges` that propagate to sub-paths as PVE ACLs do
   * (`{ "/vms/100": ["VM.PowerMgmt"], "/": ["Sys.Audit"] }`).
   */
  privileges: "*" | string[] | Record<string, string[]>;
  /** Expiry (epoch seconds); an expired token fails authentication like PVE's. */
  expire?: number;
}

export type Tokens = Record<string, TokenGrant>;

export interface Caller {
  /** The authenticated user id, for a token `USER@REALM!TOKENID` as PVE's RPC environment has it. */
  tokenId: string;
  grant: TokenGrant;
}

/** `PVE::APIServer::Formatter::extract_auth_value`: `PVEAPIToken=<value>` (or a space) up to a ';'. */
function extractAuthValue(header: string | undefined, key: string): string | undefined {
  if (!header) return undefined;
  const match = new RegExp(`(?:^|\\s)${key}(?:=| )([^;]*)`).exec(header);
  if (!match?.[1]) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

/**
 * pveproxy's auth_handler for API tokens: no credentials is "No ticket"; anything wrong with a
 * token (unknown, bad secret, expired, malformed) is "Authentication failed!" (status 401, and
 * the details only go to the server's log). Cookie tickets are not modelled: one is refused.
 */
export function authenticate(authorization: string | undefined, cookie: string | undefined, tokens: Tokens): Caller {
  const ticket = extractAuthValue(cookie, "PVEAuthCookie") ?? extractAuthValue(authorization, "PVEAuthCookie");
  if (ticket) throw new PveError(401, "Authentication failed!\n");
  const token = extractAuthValue(authorization, "PVEAPIToken");
  if (!token) throw new PveError(401, "No ticket\n");
  const split = token.indexOf("=");
  const tokenId = token.slice(0, split);
  const secret = token.slice(split + 1);
  // PVE's pve-tokenid: a user (which may contain @) @ realm ! token name; realm and name start with a letter.
  const grant = split > 0 && /^[^\s:/]+@[A-Za-z][A-Za-z0-9._-]+![A-Za-z][A-Za-z0-9._-]+$/.test(tokenId) ? tokens[tokenId] : undefined;
  if (!grant || grant.secret !== secret || (grant.expire && grant.expire < Date.now() / 1000)) throw new PveError(401, "Authentication failed!\n");
  return { tokenId, grant };
}

/** The privileges a token holds on an ACL path (entries on the path or any parent apply). */
export function privilegesAt(grant: TokenGrant, path: string): Set<string> | "*" {
  if (grant.privileges === "*") return "*";
  if (Array.isArray(grant.privileges)) return new Set(grant.privileges);
  const held = new Set<string>();
  for (const [aclPath, privileges] of Object.entries(grant.privileges)) {
    const prefix = aclPath === "/" ? "/" : `${aclPath.replace(/\/+$/, "")}/`;
    if (aclPath === path || path.startsWith(prefix)) privileges.forEach((privilege) => held.add(privilege));
  }
  return held;
}

export function hasPrivilege(grant: TokenGrant, path: string, privilege: string): boolean {
  const held = privilegesAt(grant, path);
  return held === "*" || held.has(privilege);
}

/**
 * `$rpcenv->check` / `check_any`: all privileges (or, with any, at least one) on the path, else
 * 403 "Permission check failed (/vms/100, VM.PowerMgmt)".
 */
export function checkPrivileges(grant: TokenGrant, path: string, privileges: string[], any = false): void {
  if (any) {
    if (privileges.some((privilege) => hasPrivilege(grant, path, privilege))) return;
    throw permError(`${path}, ${privileges.join("|")}`);
  }
  for (const privilege of privileges) if (!hasPrivilege(grant, path, privilege)) throw permError(`${path}, ${privilege}`);
}
