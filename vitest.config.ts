import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["apps/*/src/**/*.test.ts", "packages/*/src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: end-to-end files start several real processes each.
    maxWorkers: 2,
    pool: "forks",
    setupFiles: ["test/vitest.setup.ts"],
  },
});
