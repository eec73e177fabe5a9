import { isUuid } from "@botmox/protocol";
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { ApiError } from "../errors/api-error.js";
import { ROLES, type Role } from "../store/types.js";

export interface JwtPrincipal {
  tenant_id: string;
  role: Role;
  actor: string;
}

export interface SupabaseJwtOptions {
  /** HS256: the project's JWT secret. */
  secret?: string;
  /** Asymmetric keys: the project's JWKS endpoint. */
  jwksUrl?: string;
  audience: string;
}


/** A bearer token shaped like a JWT (three base64url parts, JSON header) rather than an API key. */
export function looksLikeJwt(token: string): boolean {
  return token.startsWith("eyJ") && token.split(".").length === 3;
}

/**
 * Operators signed in with Supabase Auth: the access token names the tenant in
 * `app_metadata.tenant_id` and the role in `app_metadata.tenant_role` (admin, operator or
 * viewer; viewer when absent). app_metadata is writable only with the service role, so a user
 * cannot grant themselves a tenant.
 */
export class SupabaseJwtVerifier {
  private readonly key: JWTVerifyGetKey;
  private readonly algorithms: string[] | undefined;

  constructor(private readonly options: SupabaseJwtOptions) {
    if (options.secret) {
      const secret = new TextEncoder().encode(options.secret);
      this.key = () => secret;
      this.algorithms = ["HS256"];
    } else if (options.jwksUrl) {
      this.key = createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: 5_000, cooldownDuration: 30_000 });
      this.algorithms = undefined;
    } else {
      throw new Error("SupabaseJwtVerifier needs a secret or a JWKS URL");
    }
  }

  async verify(token: string): Promise<JwtPrincipal> {
    const payload = await this.verified(token);
    if (typeof payload.sub !== "string" || payload.sub === "") throw new ApiError("UNAUTHENTICATED", "The JWT has no subject (sub)");
    const metadata = (payload.app_metadata ?? {}) as Record<string, unknown>;
    const tenantId = metadata.tenant_id;
    if (typeof tenantId !== "string" || !isUuid(tenantId)) {
      throw new ApiError("FORBIDDEN", "The JWT names no tenant: app_metadata.tenant_id must be the user's Bot-Mox tenant id");
    }
    const role = metadata.tenant_role ?? "viewer";
    if (!(ROLES as readonly unknown[]).includes(role)) {
      throw new ApiError("FORBIDDEN", `The JWT's app_metadata.tenant_role must be one of ${ROLES.join(", ")}, not ${JSON.stringify(role)}`);
    }
    return { tenant_id: tenantId, role: role as Role, actor: `user:${payload.sub}` };
  }

  private async verified(token: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, this.key, { audience: this.options.audience, ...(this.algorithms ? { algorithms: this.algorithms } : {}) });
      return payload;
    } catch (err) {
      throw toAuthError(err);
    }
  }
}

function toAuthError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof errors.JWTExpired) return new ApiError("UNAUTHENTICATED", "The JWT has expired; sign in again");
  if (err instanceof errors.JWTClaimValidationFailed) return new ApiError("UNAUTHENTICATED", `The JWT is not for this API: ${err.message}`);
  const jwksUnreachable =
    err instanceof errors.JWKSTimeout || (err instanceof TypeError && /fetch/i.test(err.message)) || (err instanceof errors.JOSEError && /JSON Web Key Set HTTP response/.test(err.message));
  if (jwksUnreachable) {
    return new ApiError("AUTH_UNAVAILABLE", "The JWT signing keys (JWKS) cannot be fetched right now", null, { "retry-after": "5" });
  }
  if (err instanceof errors.JWKSNoMatchingKey) return new ApiError("UNAUTHENTICATED", "The JWT was signed with a key this project does not publish");
  if (err instanceof errors.JWSSignatureVerificationFailed) return new ApiError("UNAUTHENTICATED", "The JWT signature is not valid");
  if (err instanceof errors.JOSEAlgNotAllowed) return new ApiError("UNAUTHENTICATED", `The JWT uses an algorithm that is not accepted: ${err.message}`);
  return new ApiError("UNAUTHENTICATED", `The JWT is not valid: ${(err as Error).message}`);
}
