import { readFileSync } from "node:fs";
import { freePort } from "#kit/testing/free-port.js";
import type { TestIssuer } from "#kit/testing/test-issuer.js";
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

/**
 * The real MCP server as the MCP benches run it: on a free port, trusting `issuer`'s tokens, at
 * `MCP_BENCH_LOG_LEVEL` (info, as deployed), under `--cpu-prof` when `MCP_BENCH_CPU_PROF` names a
 * directory. Returns the process and its resource URI (its tokens' audience, where it serves MCP).
 */
export async function spawnProductMcpServer(
  serverEnv: Record<string, string>,
  issuer: TestIssuer,
): Promise<{ readonly child: McpBenchChild; readonly resource: string }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const profDir = process.env.MCP_BENCH_CPU_PROF;
  const child = await spawnMcpChild({
    entry: "services/mcp-server/main.ts",
    env: {
      ...serverEnv,
      MCP_PORT: String(port),
      AUTH_ISSUER: issuer.issuer,
      AUTH_JWKS_URL: issuer.jwksUrl.href,
      LOG_LEVEL: process.env.MCP_BENCH_LOG_LEVEL ?? "info",
      LOG_FORMAT: "json",
    },
    ready: async () => (await fetch(`${base}/readyz`)).ok,
    ...(profDir ? { nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${profDir}`] } : {}),
  });
  return { child, resource: `${base}/mcp` };
}
