import { storagePolicySchema, type StoragePolicy } from "@botmox/protocol";
import { z } from "zod";
import { flattenIssues } from "@botmox/protocol";
import { ApiError } from "../errors/api-error.js";
import type { PurgeCounts, Store } from "../store/types.js";

/** Read-only fields a client sends back as GET gave them (read, edit, PUT): accepted and ignored. */
const readOnlyFields = { updated_at: z.number().optional(), updated_by: z.string().nullable().optional() };

const policyPutSchema = storagePolicySchema.extend(readOnlyFields).strict();

export const policyPatchSchema = z
  .object({
    secrets: storagePolicySchema.shape.secrets.optional(),
    operational: storagePolicySchema.shape.operational.optional(),
    sync: z.object({ enabled: z.boolean() }).strict().optional(),
    ...readOnlyFields,
  })
  .strict();

/** Reads and changes a tenant's storage_policy; pushing it to agents is the caller's `push`. */
export class PolicyService {
  /** Set by the gateway: sends the policy to every connected agent of the tenant. */
  push: (tenantId: string, policy: StoragePolicy) => void = () => {};

  constructor(private readonly store: Store) {}

  get(tenantId: string): Promise<StoragePolicy> {
    return this.store.getStoragePolicy(tenantId);
  }

  async update(input: { tenant_id: string; actor: string; body: unknown; merge: boolean }): Promise<{ policy: StoragePolicy; purged: PurgeCounts | null }> {
    const previous = await this.store.getStoragePolicy(input.tenant_id);
    const parsed = input.merge ? policyPatchSchema.safeParse(input.body ?? {}) : policyPutSchema.safeParse(input.body ?? {});
    if (!parsed.success) throw new ApiError("BAD_REQUEST", "Invalid storage_policy", flattenIssues(parsed.error));
    const next: StoragePolicy = {
      secrets: "local-only",
      operational: parsed.data.operational ?? previous.operational,
      sync: { enabled: parsed.data.sync?.enabled ?? previous.sync.enabled },
      // Strictly increasing: agents acknowledge the version they applied.
      updated_at: Math.max(Date.now(), previous.updated_at + 1),
      updated_by: input.actor,
    };
    await this.store.putStoragePolicy({ tenant_id: input.tenant_id, policy: next, actor: input.actor, previous });
    // Sessions follow the new policy before the purge: what they store until then, the purge removes.
    this.push(input.tenant_id, next);
    const purged = previous.operational === "cloud" && next.operational === "local" ? await this.store.purgeOperational({ tenant_id: input.tenant_id, actor: input.actor }) : null;
    return { policy: next, purged };
  }
}
