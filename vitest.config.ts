import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["services/**/*.test.ts", "examples/**/*.test.ts", "deploy/**/*.test.ts"],
    testTimeout: 30_000,
    // A whole stack starting on a busy 2-core machine (several files at once) can take over a minute.
    hookTimeout: 120_000,
    // Each test file starts its own servers on loopback ports (kit/testing/free-port.ts); files run in parallel.
    pool: "forks",
    // PGlite on V8's baseline WebAssembly compiler only, as a stack on PGlite runs it: measured on 2 cores,
    // a process opening PGlite takes 1.0 s instead of 2.7 s (docs/performance.md, "Embedded PGlite").
    execArgv: ["--liftoff-only"],
    // Vitest's default is one worker per core but one (2 cores: one file at a time), while most files
    // spend their time waiting on servers and child processes: one more worker than cores. Measured
    // on 2 cores: 1,175 s with one worker, 466 s with three (README, "Troubleshooting").
    maxWorkers: availableParallelism() + 1,
  },
});
