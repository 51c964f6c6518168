import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmbeddedPostgres } from "#kit/db/index.js";
import { treeCpuMs } from "./process-tree.js";

/** The database the MCP bench's server runs on, and how its report names it. */
export interface McpBenchDatabase {
  readonly label: string;
  /** Added to the server's environment. */
  readonly env: Record<string, string>;
  /** CPU ms its server's processes used so far, when they are this bench's own (the embedded one). */
  readonly cpuMs?: () => number;
  close(): Promise<void>;
}

/**
 * What `npm run bench -- mcp` runs the MCP server on (docs/performance.md, "Per-call breakdown: MCP
 * server"): by default what `npm start` gives it, an embedded PostgreSQL of its own reached over
 * its Unix socket; `MCP_BENCH_DATABASE_URL` names another server; `MCP_BENCH_DATABASE=pglite` runs
 * it on PGlite, as `STACK_DATABASE=pglite` and the tests do.
 */
export async function mcpBenchDatabase(): Promise<McpBenchDatabase> {
  const url = process.env.MCP_BENCH_DATABASE_URL;
  if (url)
    return {
      label: "PostgreSQL (MCP_BENCH_DATABASE_URL)",
      env: { DATABASE_URL: url },
      close: async () => {},
    };
  if (process.env.MCP_BENCH_DATABASE === "pglite") {
    return { label: "PGlite", env: { STACK_DATABASE: "pglite" }, close: async () => {} };
  }
  const dataDir = mkdtempSync(join(tmpdir(), "bench-mcp-postgres-"));
  try {
    const server = await startEmbeddedPostgres({ dataDir, logger: { info() {}, warn() {}, debug() {} } });
    return {
      label: "the embedded PostgreSQL, as npm start",
      env: { DATABASE_URL: server.url },
      cpuMs: () => treeCpuMs(server.pid),
      async close() {
        await server.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}
