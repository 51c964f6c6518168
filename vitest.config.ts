import { availableParallelism } from "node:os";
import { configDefaults, defineConfig } from "vitest/config";

const TESTS = ["services/**/*.test.ts", "examples/**/*.test.ts", "deploy/**/*.test.ts"];

/**
 * Files that need a process of their own: they test what a process sets once for its whole life
 * (OpenTelemetry's global tracer provider and its service name), which a file before them in the
 * same worker would already have set.
 */
const OWN_PROCESS = ["services/kit/telemetry/telemetry.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    // A whole stack starting on a busy 2-core machine (several files at once) can take over a minute.
    hookTimeout: 120_000,
    // Each test file starts its own servers on loopback ports (kit/testing/free-port.ts); files run in parallel.
    pool: "forks",
    // PGlite on V8's baseline WebAssembly compiler only, as a stack on PGlite runs it: measured on 2 cores,
    // a process opening PGlite takes 1.0 s instead of 2.7 s (docs/performance.md, "Embedded PGlite").
    execArgv: ["--liftoff-only"],
    // Vitest's default is one worker per core but one (2 cores: one file at a time), while most files
    // spend their time waiting on servers and child processes: one more worker than cores
    // (docs/development.md, "Tests").
    maxWorkers: availableParallelism() + 1,
    // The compiled tree that whole-stack tests and the tools run (`node scripts/start.mjs`), compiled
    // once before the files run rather than by several workers at once.
    globalSetup: ["scripts/vitest-global-setup.mjs"],
    projects: [
      {
        extends: true,
        test: {
          name: "shared",
          include: TESTS,
          exclude: [...configDefaults.exclude, ...OWN_PROCESS],
          // A worker keeps its loaded modules from one file to the next instead of importing the
          // product again for each of ~190 files: no test file mocks a module or changes the
          // environment of the process. Measured on 2 cores: 270 s of module import and a 642 s
          // suite with isolation, 31 s and 428 s without (docs/development.md, "Tests").
          isolate: false,
        },
      },
      { extends: true, test: { name: "own-process", include: OWN_PROCESS } },
    ],
  },
});
