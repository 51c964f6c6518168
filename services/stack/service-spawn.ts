import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

// Absolute: the runner may be started from any working directory.
// TypeScript beside the sources (`npm start`), JavaScript in a compiled build (`npm run build`).
const EXTENSION = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const EXIT_WITH_RUNNER = fileURLToPath(
  new URL(`../kit/process/exit-with-runner${EXTENSION}`, import.meta.url),
);

/**
 * On PGlite (`STACK_DATABASE=pglite`, which every service of such a stack gets), V8's baseline
 * WebAssembly compiler only: the optimising tier-up compiles PostgreSQL's largest functions in the
 * background for seconds of CPU, and holds up the process's exit until they finish, for no gain on a
 * database whose time goes to file I/O (docs/performance.md, "Embedded PGlite: a new database").
 * Not on the embedded PostgreSQL: there the only WebAssembly is undici's HTTP parser, left as it is.
 */
const wasmFlags = (env: NodeJS.ProcessEnv) => (env.STACK_DATABASE === "pglite" ? ["--liftoff-only"] : []);

/** Node's arguments for one service's process: the flags, the loaders, then its entry. */
export function serviceNodeArgs(entry: string, env: NodeJS.ProcessEnv): string[] {
  const loader = entry.endsWith(".ts") ? ["--import", "tsx"] : [];
  return [...wasmFlags(env), ...loader, "--import", EXIT_WITH_RUNNER, entry];
}

/**
 * Starts one service's process under the runner. exit-with-runner loads before the service's own
 * modules: it leaves with the runner from the first moment (docs/architecture.md, "Processes").
 * JavaScript (`npm start`'s compiled tree, or `npm run build`) runs as is; TypeScript sources (the
 * tests' runner) under tsx.
 */
export function spawnService(entry: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, serviceNodeArgs(entry, env), {
    // The IPC channel lets the service notice the runner's death, however it died (see
    // stopOnSignals). Its own process group: a Ctrl-C reaches the runner only, which forwards
    // exactly one SIGTERM; a service seeing the terminal's SIGINT and the runner's SIGTERM took
    // them for an operator insisting and skipped the graceful drain.
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    detached: true,
    env,
  });
}
