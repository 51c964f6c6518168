import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["services/**/*.test.ts", "examples/**/*.test.ts", "deploy/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each test file starts its own servers on ephemeral loopback ports; files run in parallel.
    pool: "forks",
  },
});
