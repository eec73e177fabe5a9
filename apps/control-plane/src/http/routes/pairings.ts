import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { ApiError } from "../../errors/api-error.js";
import { publicKeyFromBase64 } from "../../auth/agent-signature.js";
import { clientKey, FailureLimiter } from "../../auth/failure-limiter.js";
import { isWellFormedPairingCode, normalizePairingCode } from "../../auth/secrets.js";
import type { RouteContext } from "../context.js";
import { parseInput } from "../validation.js";

const registerBody = z
  .object({
    code: z.string().min(1).max(64),
    public_key: z.string().min(1).max(256),
    hostname: z.string().max(255).optional(),
  })
  .strict();

/** Registrations that may fail per client (an address, an IPv6 /64) per window. */
const REGISTER_FAILURES = { perKey: 10, windowMs: 10 * 60_000 };

export function pairingRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const failures = new FailureLimiter(REGISTER_FAILURES);

  app.post("/api/v1/agents/pairings", async (request, reply) => {
    const principal = await ctx.auth.authenticate(request, "operator");
    // Checked before a code is made: one no agent could use would only sit in the store.
    if (!ctx.config.PUBLIC_URL && !request.host) {
      throw new ApiError("BAD_REQUEST", "Send a Host header (or set PUBLIC_URL on the server): the pairing URI names the server agents dial", [
        { path: "(headers).host", message: "required to build the pairing URI" },
      ]);
    }
    const { code, expires_at } = await ctx.pairings.create(principal.tenant_id, ctx.config.PAIRING_TTL_MS, principal.actor);
    const server = ctx.config.PUBLIC_URL ?? `${request.protocol}://${request.host}`;
    const pairingUri = `botmox://pair?server=${encodeURIComponent(server)}&code=${encodeURIComponent(code)}`;
    return reply.code(201).send({ code, expires_at, pairing_uri: pairingUri, server });
  });

  app.post("/api/v1/agents/register", async (request, reply) => {
    const attempt = failures.attempt(clientKey(request.ip));
    if (attempt.waitMs > 0) {
      const retryAfterS = Math.ceil(attempt.waitMs / 1000);
      throw new ApiError("TOO_MANY_ATTEMPTS", `Too many pairing codes that did not register from here; try again in ${retryAfterS} s`, { retry_after_ms: attempt.waitMs }, { "retry-after": String(retryAfterS) });
    }
    const body = parseInput(registerBody, request.body, "body");
    const code = normalizePairingCode(body.code);
    try {
      publicKeyFromBase64(body.public_key);
    } catch {
      throw new ApiError("BAD_REQUEST", "Invalid request body", [{ path: "public_key", message: "must be a base64 Ed25519 public key (32 bytes)" }]);
    }
    try {
      if (!isWellFormedPairingCode(code)) throw new ApiError("BAD_REQUEST", "Invalid request body", [{ path: "code", message: "must look like BMX-XXXX-XXXX" }]);
      const registered = await ctx.pairings.register({ code, public_key: body.public_key, hostname: body.hostname ?? null, now: Date.now() });
      attempt.succeeded();
      ctx.log.info(registered, "agent registered");
      return reply.code(201).send(registered);
    } catch (err) {
      // The store's own trouble is not the client's guess.
      if (!(err instanceof ApiError && err.status < 500)) attempt.succeeded();
      throw err;
    }
  });
}
