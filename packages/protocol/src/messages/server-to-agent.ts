import { z } from "zod";
import { errorBodySchema } from "../errors.js";
import { commandIdSchema, epochMsSchema, timerMsSchema } from "./common.js";

/** Messages the control plane sends. Each entry is the payload schema of one frame type. */
export const SERVER_TO_AGENT = {
  welcome: z.object({
    protocol_version: z.number().int(),
    session_id: z.string(),
    server_time: epochMsSchema,
    heartbeat_ms: timerMsSchema,
    max_frame_bytes: z.number().int().positive(),
  }),
  /** Run a command. May be redelivered; the agent answers repeats from its journal. */
  "command.dispatch": z.object({
    id: commandIdSchema,
    name: z.string(),
    params: z.unknown(),
    timeout_ms: timerMsSchema,
    attempt: z.number().int().positive(),
    /**
     * Last sent to another process of this agent whose connection this one replaced (a copied
     * home, a cloned machine): unless the journal knows it, it may be running there, so it is not run here.
     */
    sent_to_other_process: z.boolean().optional(),
  }),
  "command.cancel": z.object({ id: commandIdSchema, reason: z.string().max(500).optional() }),
  /** The listed results are stored; the agent may forget them. */
  "command.result.ack": z.object({ ids: z.array(commandIdSchema).min(1) }),
  /** The tenant's storage policy; sent on connect and on every change. The agent answers policy.applied. */
  policy: z.object({ version: z.number().int(), operational: z.enum(["cloud", "local"]), sync_enabled: z.boolean() }),
  /** Data the control plane does not keep for "local" tenants, fetched through the tunnel. */
  request: z.object({ request_id: z.string().max(64), kind: z.enum(["command.result", "inventory"]), command_id: commandIdSchema.optional() }),
  /** Answer to a frame the server could not use; the connection stays open. */
  error: errorBodySchema,
};

export type ServerToAgentType = keyof typeof SERVER_TO_AGENT;
export type ServerToAgent<T extends ServerToAgentType = ServerToAgentType> = {
  [K in T]: { type: K; payload: z.infer<(typeof SERVER_TO_AGENT)[K]> };
}[T];
