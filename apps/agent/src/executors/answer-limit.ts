/**
 * The most an upstream API (Proxmox VE, SyncThing) may answer with in one body. The largest real
 * answers (a big cluster's resource list, a busy event batch) are a few MiB; a server going on
 * past this is broken or hostile, and would otherwise grow one string until the process fails.
 */
export const MAX_UPSTREAM_ANSWER_BYTES = 16 * 1024 * 1024;
