import { defineConfig } from "vitest/config";

/** The spine's end-to-end tests, run a second time with the control plane on Supabase. */
const SPINE_E2E = ["round-trip", "crash-recovery", "liveness", "trust", "gateway-robustness", "admin-cli", "api-keys"].map((name) => `test/e2e/${name}.test.ts`);

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: end-to-end files start several real processes each.
    maxWorkers: 2,
    pool: "forks",
    setupFiles: ["test/vitest.setup.ts"],
    projects: [
      {
        extends: true,
        test: { name: "sqlite", include: ["apps/*/src/**/*.test.ts", "packages/*/src/**/*.test.ts", "test/**/*.test.ts"] },
      },
      {
        extends: true,
        test: { name: "supabase", include: SPINE_E2E, setupFiles: ["test/supabase-backend.setup.ts"] },
      },
    ],
  },
});
