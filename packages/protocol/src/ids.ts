import { randomBytes } from "node:crypto";

const POOL_BYTES = 16 * 256;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/**
 * UUID version 7 (RFC 9562): 48-bit millisecond timestamp, then randomness. Ids of commands
 * created one after another sort together, so B-tree indexes in SQLite and PostgreSQL grow at
 * their right edge instead of touching a random page per insert. Random bytes come from a pool
 * filled 256 ids at a time: one call into the CSPRNG per id costs more than the rest of the id.
 */
export function uuidv7(now = Date.now()): string {
  if (poolOffset + 16 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a UUID in its canonical text form (any version). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
