import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchProcess } from "./service-process.js";

/** The stack as the gateway bench runs it; `pid` is its runner's, the ancestor of every service. */
export interface BenchStack extends BenchProcess {
  readonly pid: number;
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const READY_TIMEOUT_MS = 120_000;

/**
 * The whole stack as `npm start` runs it, for the gateway bench: its log lines (at the level the
 * bench asks for, info by default, so a per-call line is part of what is measured) are written to
 * /dev/null rather than mixed into the bench's output; errors still reach stderr. A fresh PGlite
 * DATA_DIR; stop() also removes it.
 */
export async function spawnQuietStack(options: {
  readonly env: Record<string, string>;
  readonly ready: () => Promise<boolean>;
}): Promise<BenchStack> {
  const dataDir = mkdtempSync(join(tmpdir(), "bench-"));
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "services/stack/main.ts"], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "development",
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      LOG_FORMAT: "json",
      ...options.env,
    },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the stack exited with code ${child.exitCode}`);
      if (await options.ready().catch(() => false)) break;
      if (Date.now() > deadline) throw new Error(`the stack was not ready within ${READY_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop, pid: child.pid ?? 0 };
}
