import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * One process of the `mcp` bench (the floor server, or the real MCP server), known by its pid so
 * its own CPU time can be read — never another process that happens to run the same entry file
 * on a shared machine.
 */
export interface McpBenchChild {
  readonly pid: number;
  /** User + system CPU time (ms) of the process so far, all threads (GC, PGlite) included. */
  cpuMs(): number;
  stop(): Promise<void>;
}

export interface McpChildOptions {
  /** Entry file relative to the repository root. */
  readonly entry: string;
  /** On top of a minimal environment: the caller's own settings never leak in. */
  readonly env: Record<string, string>;
  readonly ready: () => Promise<boolean>;
  /** Extra `node` flags, e.g. `--cpu-prof` (docs/performance.md, "Per-call breakdown: MCP server"). */
  readonly nodeFlags?: readonly string[];
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux Node supports). */
const TICKS_PER_SECOND = 100;

/** CPU ms of `pid` from /proc (Linux); the bench's CPU figures need it. */
function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/**
 * Starts `entry` under Node with tsx (as the other benches run services), with a fresh DATA_DIR,
 * its log lines discarded (written, so their cost counts, but not shown), and waits for `ready()`.
 */
export async function spawnMcpChild(options: McpChildOptions): Promise<McpBenchChild> {
  const dataDir = mkdtempSync(join(tmpdir(), "bench-mcp-"));
  const child: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeFlags ?? []), "--import", "tsx", options.entry],
    {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "inherit"],
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
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${options.entry} exited with code ${child.exitCode}`);
      if (await options.ready().catch(() => false)) break;
      if (Date.now() > deadline) throw new Error(`${options.entry} was not ready within 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const pid = child.pid as number;
  return { pid, cpuMs: () => procCpuMs(pid), stop };
}
