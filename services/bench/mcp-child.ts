import { readFileSync } from "node:fs";
import { type BenchProcess, spawnBenchProcess } from "./service-process.js";

/**
 * One process of the `mcp` bench (the floor server, or the real MCP server), known by its pid so
 * its own CPU time can be read.
 */
export interface McpBenchChild extends BenchProcess {
  /** User + system CPU time (ms) of the process so far, all threads (GC, PGlite) included. */
  cpuMs(): number;
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
 * Starts `entry` as the other benches start services (`spawnBenchProcess`), its log lines discarded
 * (written, so their cost counts, but not shown), and waits for `ready()`.
 */
export async function spawnMcpChild(options: McpChildOptions): Promise<McpBenchChild> {
  const proc = await spawnBenchProcess({ ...options, stdout: "discard" });
  return { pid: proc.pid, cpuMs: () => procCpuMs(proc.pid), stop: () => proc.stop() };
}
