import type { AddressInfo } from "node:net";
import { PairingCodes } from "./auth/pairing.js";
import { pairingCodeKey } from "./auth/pairing-key.js";
import { SupabaseJwtVerifier } from "./auth/supabase-jwt.js";
import { CommandLifecycle } from "./commands/command-lifecycle.js";
import { CommandService } from "./commands/command-service.js";
import { instanceId, type Config } from "./config.js";
import { EventBus } from "./events/bus.js";
import { Gateway } from "./gateway/gateway.js";
import { OperatorAuth } from "./http/operator-auth.js";
import { buildHttpServer } from "./http/server.js";
import type { Logger } from "./logger.js";
import { createMetrics } from "./metrics/metrics.js";
import { PolicyService } from "./policies/policy-service.js";
import type { Store } from "./store/types.js";

const EXPIRY_SWEEP_MS = 1_000;

function operatorJwtVerifier(config: Config): SupabaseJwtVerifier | undefined {
  if (!config.SUPABASE_JWT_SECRET && !config.SUPABASE_JWKS_URL) return undefined;
  return new SupabaseJwtVerifier({
    audience: config.SUPABASE_JWT_AUDIENCE,
    ...(config.SUPABASE_JWT_SECRET ? { secret: config.SUPABASE_JWT_SECRET } : {}),
    ...(config.SUPABASE_JWKS_URL ? { jwksUrl: config.SUPABASE_JWKS_URL } : {}),
  });
}

export interface ControlPlane {
  url: string;
  store: Store;
  stop(): Promise<void>;
}

/** Wires store, gateway and HTTP API together and starts listening. */
export async function startControlPlane(config: Config, store: Store, log: Logger): Promise<ControlPlane> {
  const instance = instanceId(config);
  const bus = new EventBus((err, event) => log.error({ err, type: event.type }, "an event listener failed"));
  const lifecycle = new CommandLifecycle(store, bus);
  const commands = new CommandService(store, bus);
  const connected = { count: () => 0 };
  const metrics = createMetrics(bus, () => connected.count());
  const gateway = new Gateway({
    store,
    lifecycle,
    bus,
    log,
    metrics,
    heartbeatMs: config.HEARTBEAT_MS,
    instanceId: instance,
    maxPendingHandshakes: config.MAX_PENDING_HANDSHAKES,
  });
  connected.count = () => gateway.connectedCount;
  commands.dispatcher = gateway.dispatcher;
  const policies = new PolicyService(store);
  policies.push = (tenantId, policy) => gateway.pushPolicy(tenantId, policy);

  const app = buildHttpServer({ config, store, bus, commands, gateway, auth: new OperatorAuth(store, operatorJwtVerifier(config)), pairings: new PairingCodes(store, pairingCodeKey(config)), policies, metrics, log });
  // Listening first: a server that cannot have the port must leave the one that has it alone.
  // Agents are told to retry until what the previous run left behind is cleared.
  gateway.attach(app.server);
  await app.listen({ port: config.PORT, host: config.HOST });
  const stale = await store.endStaleSessions(instance);
  if (stale > 0) log.info({ agents: stale }, "agents the previous run left online are offline until they reconnect");
  const orphaned = await commands.endForRevokedAgents();
  if (orphaned > 0) log.info({ commands: orphaned }, "ended the commands of agents whose revocation the previous run did not finish");
  gateway.open();

  // While the store is unreachable the sweep fails every second: say so when it starts and when it ends.
  let sweepFailing = false;
  const sweeper = setInterval(() => {
    lifecycle.expireDue().then(
      () => {
        if (sweepFailing) log.info("expiry sweep works again");
        sweepFailing = false;
      },
      (err: unknown) => {
        if (!sweepFailing) log.error({ err }, "expiry sweep failed; retrying every second");
        sweepFailing = true;
      },
    );
  }, EXPIRY_SWEEP_MS);
  sweeper.unref();

  const address = app.server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${address.port}`;
  log.info({ url, backend: store.kind }, "control plane listening");

  return {
    url,
    store,
    async stop() {
      clearInterval(sweeper);
      await gateway.drain();
      await app.close();
      await store.close();
    },
  };
}
