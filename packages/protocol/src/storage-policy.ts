import { z } from "zod";

/** The shape the Bot-Mox frontend reads and writes at /api/v1/settings/storage_policy. */
export const storagePolicySchema = z
  .object({
    secrets: z.literal("local-only", { message: 'secrets are always "local-only": they never leave the agent' }),
    operational: z.enum(["cloud", "local"]),
    sync: z.object({ enabled: z.boolean() }).strict(),
  })
  .strict();

export type StoragePolicyInput = z.infer<typeof storagePolicySchema>;
export type StoragePolicy = StoragePolicyInput & { updated_at: number; updated_by: string | null };

export const DEFAULT_STORAGE_POLICY: StoragePolicy = { secrets: "local-only", operational: "cloud", sync: { enabled: false }, updated_at: 0, updated_by: null };
