import { z } from "zod";
import type { Completion, FolderState, FolderStatus, RawEvent } from "./types.js";

/** The events the agent follows: folder state and progress, device connections. */
export const FOLLOWED_EVENT_TYPES = ["StateChanged", "FolderSummary", "FolderCompletion", "DeviceConnected", "DeviceDisconnected"] as const;
export type FollowedEventType = (typeof FOLLOWED_EVENT_TYPES)[number];

interface EventBase {
  id: number;
  globalID: number;
  time: string;
}

export interface StateChangedEvent extends EventBase {
  type: "StateChanged";
  data: { folder: string; from: FolderState; to: FolderState; duration?: number; error?: string };
}
export interface FolderSummaryEvent extends EventBase {
  type: "FolderSummary";
  data: { folder: string; summary: FolderStatus };
}
export interface FolderCompletionEvent extends EventBase {
  type: "FolderCompletion";
  data: Completion & { folder: string; device: string };
}
export interface DeviceConnectedEvent extends EventBase {
  type: "DeviceConnected";
  data: { id: string; addr: string; deviceName: string; clientName: string; clientVersion: string; type: string };
}
export interface DeviceDisconnectedEvent extends EventBase {
  type: "DeviceDisconnected";
  data: { id: string; error: string };
}

export type FollowedEvent = StateChangedEvent | FolderSummaryEvent | FolderCompletionEvent | DeviceConnectedEvent | DeviceDisconnectedEvent;

// The fields the agent relies on; anything else SyncThing sends is kept (loose objects).
const dataSchemas: Record<FollowedEventType, z.ZodType> = {
  StateChanged: z.looseObject({ folder: z.string(), from: z.string(), to: z.string(), duration: z.number().optional(), error: z.string().optional() }),
  FolderSummary: z.looseObject({ folder: z.string(), summary: z.looseObject({ state: z.string() }) }),
  FolderCompletion: z.looseObject({ folder: z.string(), device: z.string(), completion: z.number() }),
  DeviceConnected: z.looseObject({ id: z.string(), addr: z.string() }),
  DeviceDisconnected: z.looseObject({ id: z.string(), error: z.string() }),
};

export const isFollowedType = (type: string): type is FollowedEventType => (FOLLOWED_EVENT_TYPES as readonly string[]).includes(type);

/**
 * A followed event with its payload checked, `undefined` for other types, and an Error saying
 * which field is off when SyncThing sent a followed type in a shape the agent does not know.
 */
export function parseFollowedEvent(event: RawEvent): FollowedEvent | Error | undefined {
  if (!isFollowedType(event.type)) return undefined;
  const parsed = dataSchemas[event.type].safeParse(event.data);
  if (!parsed.success) return new Error(`SyncThing event ${event.id} (${event.type}) has an unexpected payload: ${z.prettifyError(parsed.error)}`);
  return { ...event, type: event.type, data: parsed.data } as FollowedEvent;
}
