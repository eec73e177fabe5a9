import type { FastifyRequest } from "fastify";
import { ApiError } from "../errors/api-error.js";
import { TtlCache } from "./ttl-cache.js";
import { sha256Hex } from "../auth/secrets.js";
import { looksLikeJwt, type SupabaseJwtVerifier } from "../auth/supabase-jwt.js";
import type { Role, Store } from "../store/types.js";

export interface Principal {
  tenant_id: string;
  role: Role;
  /** Who acted, for the audit log: `api_key:bmx_ab12cd`, or `user:<uuid>` for a Supabase Auth user. */
  actor: string;
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
const CACHE_MS = 30_000;

/**
 * Resolves `Authorization: Bearer <api key | Supabase Auth JWT>` to a tenant principal, caching
 * API key lookups briefly.
 */
export class OperatorAuth {
  /** By key hash; the key id beside the principal (which is spread into audited inputs) lets a revocation find it. */
  private readonly keys = new TtlCache<{ principal: Principal; key_id: string } | null>(CACHE_MS);
  private readonly tenants = new TtlCache<boolean>(CACHE_MS);

  constructor(
    private readonly store: Store,
    private readonly jwt?: SupabaseJwtVerifier,
  ) {}

  /** After its revocation: the key is looked up again, so it is refused from now on (on this instance). */
  forgetKey(keyId: string): void {
    this.keys.evict((key) => key?.key_id === keyId);
  }

  async authenticate(request: FastifyRequest, minimum: Role): Promise<Principal> {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new ApiError("UNAUTHENTICATED", "Send an API key (or a Supabase Auth access token) as `Authorization: Bearer <token>`");
    const principal = looksLikeJwt(match[1]!) ? await this.fromJwt(match[1]!) : await this.lookup(sha256Hex(match[1]!));
    if (!principal) throw new ApiError("UNAUTHENTICATED", "The API key is unknown or revoked");
    if (RANK[principal.role] < RANK[minimum]) {
      throw new ApiError("FORBIDDEN", `This action needs the ${minimum} role; the key has ${principal.role}`);
    }
    return principal;
  }

  private async fromJwt(token: string): Promise<Principal> {
    if (!this.jwt) throw new ApiError("UNAUTHENTICATED", "Supabase Auth tokens are not accepted here: the server has neither SUPABASE_JWT_SECRET nor SUPABASE_JWKS_URL");
    const principal = await this.jwt.verify(token);
    if (!(await this.tenantExists(principal.tenant_id))) throw new ApiError("FORBIDDEN", `The JWT names tenant ${principal.tenant_id}, which does not exist`);
    return principal;
  }

  private tenantExists(tenantId: string): Promise<boolean> {
    return this.tenants.get(tenantId, async () => (await this.store.getTenant(tenantId)) !== null);
  }

  private async lookup(hash: string): Promise<Principal | null> {
    const found = await this.keys.get(hash, async () => {
      const key = await this.store.findApiKeyByHash(hash);
      return key && key.revoked_at === null ? { principal: { tenant_id: key.tenant_id, role: key.role, actor: `api_key:${key.key_prefix}` }, key_id: key.id } : null;
    });
    return found?.principal ?? null;
  }
}
