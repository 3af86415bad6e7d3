import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Native addons are safest in child processes, one per test file.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
