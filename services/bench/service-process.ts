import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** A process of ours (one service, or the whole stack runner) started for a benchmark. */
export interface BenchProcess {
  /**
   * Its pid, so that its own CPU time (or its children's: the stack runner's services) can be read —
   * never another process that happens to run the same entry file on a shared machine.
   */
  readonly pid: number;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** Entry file, relative to `cwd` (the repository root unless given), e.g. `services/mcp-server/main.ts`. */
  readonly entry: string;
  /** On top of a minimal environment: the caller's DATABASE_URL or service settings never leak in. */
  readonly env: Record<string, string>;
  /** Resolves true once the process serves. */
  readonly ready: () => Promise<boolean>;
  readonly readyTimeoutMs?: number;
  /** What errors call the process (its entry by default). */
  readonly label?: string;
  /** Where it runs (the repository root by default): another checkout's gateway runs in its own. */
  readonly cwd?: string;
  /** Extra `node` flags, e.g. `--cpu-prof` (docs/performance.md, "Per-call breakdown: MCP server"). */
  readonly nodeFlags?: readonly string[];
  /**
   * `discard`: its standard output (its log lines) is written to /dev/null, so their cost counts but
   * they are not mixed into the bench's tables; errors still reach stderr. `show` by default.
   */
  readonly stdout?: "show" | "discard";
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DEFAULT_READY_TIMEOUT_MS = 60_000;

/**
 * Starts `entry` under Node with tsx, with a fresh PGlite DATA_DIR, and waits until `ready()`; the
 * one way the benches start a process of ours. stop() sends SIGTERM and also removes the data.
 */
export async function spawnBenchProcess(options: SpawnOptions): Promise<BenchProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "bench-"));
  const child: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeFlags ?? []), "--import", "tsx", options.entry],
    {
      cwd: options.cwd ?? ROOT,
      stdio: ["ignore", options.stdout === "discard" ? "ignore" : "inherit", "inherit"],
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        NODE_ENV: "development",
        HOST: "127.0.0.1",
        DATA_DIR: dataDir,
        ...options.env,
      },
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await untilReady(child, options);
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid ?? 0, stop };
}

/** Polls `ready()` every 100 ms; rejects when the process exits first or the timeout passes. */
async function untilReady(child: ChildProcess, options: SpawnOptions): Promise<void> {
  const label = options.label ?? options.entry;
  const timeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${label} exited with code ${child.exitCode}`);
    if (await options.ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${label} was not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
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
