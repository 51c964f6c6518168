import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** A process of ours (one service, or the whole stack runner) started for a benchmark. */
export interface BenchProcess {
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** Entry file relative to the repository root, e.g. `services/mcp-server/main.ts`. */
  readonly entry: string;
  /** On top of a minimal environment: the caller's DATABASE_URL or service settings never leak in. */
  readonly env: Record<string, string>;
  /** Resolves true once the process serves. */
  readonly ready: () => Promise<boolean>;
  readonly readyTimeoutMs?: number;
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Starts `entry` with a fresh PGlite DATA_DIR and waits until `ready()`; stop() also removes the data. */
export async function spawnBenchProcess(options: SpawnOptions): Promise<BenchProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "bench-"));
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", options.entry], {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "development",
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      ...options.env,
    },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${options.entry} exited with code ${child.exitCode}`);
      if (await options.ready().catch(() => false)) break;
      if (Date.now() > deadline) throw new Error(`${options.entry} was not ready within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

/** True when a Connect service at `baseUrl` reports SERVING over grpc.health.v1 (Connect JSON, HTTP/1.1). */
export async function connectHealthServing(baseUrl: string): Promise<boolean> {
  const res = await fetch(`${baseUrl}/grpc.health.v1.Health/Check`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  return res.ok && ((await res.json()) as { status?: string }).status === "SERVING";
}
