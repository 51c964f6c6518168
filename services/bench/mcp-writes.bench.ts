import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import pg from "pg";
import { ROLE_SCOPES } from "#kit/contract/index.js";
import { IDEMPOTENCY_META_KEY } from "#kit/propagation/index.js";
import { startTestIssuer, type TestIssuer } from "#kit/testing/test-issuer.js";
import { startBenchIdentity } from "./bench-identity.js";
import { type McpBenchDatabase, mcpBenchDatabase } from "./mcp-bench-database.js";
import { type McpBenchChild, spawnProductMcpServer } from "./mcp-child.js";
import { closedLoop, type LoadResult } from "./mcp-load.js";
import { printRow, summarize } from "./stats.js";

/** `MCP_WRITES_CONCURRENCY`: callers, each a user of their own, each with one call in flight. */
const CONCURRENCY = Number(process.env.MCP_WRITES_CONCURRENCY ?? 64);
/** `MCP_WRITES_SECONDS`: the measured window, after `WARM_SECONDS` unmeasured. */
const SECONDS = Number(process.env.MCP_WRITES_SECONDS ?? 8);
const WARM_SECONDS = 3;

/**
 * `npm run bench -- mcp-writes` (docs/performance.md, "Keyed writes"): what a tool call that
 * changes something costs — `create_ticket` with an idempotency key, as the gateway sends every
 * write: the key claimed, the ticket inserted, the answer stored under the key and the audit row
 * appended to the hash chain, in one transaction, whose head every write of every process waits
 * for. `MCP_WRITES_CONCURRENCY` users (64) in a closed loop against the MCP server alone, on the
 * database `npm run bench -- mcp` uses. Printed: writes/s, latency, the server's and the
 * database's CPU per write; then, from the database, that every write answered has its ticket, its
 * key and its audit row, and that no link of the chain is broken.
 */
export async function benchMcpWrites(): Promise<void> {
  const loadBefore = loadavg()[0] ?? 0;
  const database = await mcpBenchDatabase();
  const issuer = await startTestIssuer({ audience: "support-ext-api" });
  const identity = await startBenchIdentity(issuer);
  const clients: Client[] = [];
  let server: McpBenchChild | undefined;
  try {
    const started = await spawnProductMcpServer({ ...identity.env, ...database.env }, issuer);
    server = started.child;
    for (let i = 0; i < CONCURRENCY; i++) clients.push(await writerClient(issuer, started.resource, i));
    const target = { process: server, ...(database.cpuMs ? { databaseCpuMs: database.cpuMs } : {}) };
    const measured = await closedLoop(target, clients, SECONDS, WARM_SECONDS, keyedWrite);
    const stored = await storedWrites(database);
    report(measured, stored, database, loadBefore);
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await server?.stop();
    await identity.close();
    await issuer.close();
    await database.close();
  }
}

/** User `i`'s SDK v2 client, with an admin token of its own (the bench's writers are distinct users). */
async function writerClient(issuer: TestIssuer, resource: string, i: number): Promise<Client> {
  const token = await issuer.mint({
    sub: `u-bench-writer-${i}`,
    email: `writer${i}@company.com`,
    roles: ["admin"],
    scope: ROLE_SCOPES.admin.join(" "),
    aud: resource,
  });
  const transport = new StreamableHTTPClientTransport(new URL(resource), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client(
    { name: "bench-writer", version: "1.0.0" },
    { versionNegotiation: { mode: "auto" } },
  );
  await client.connect(transport);
  return client;
}

/** One `create_ticket` under a new idempotency key, as the gateway sends every write; its latency. */
async function keyedWrite(client: Client): Promise<number> {
  const started = performance.now();
  const result = await client.callTool({
    name: "create_ticket",
    arguments: { title: "Bench write", priority: "low" },
    _meta: { [IDEMPOTENCY_META_KEY]: randomUUID() },
  });
  // A refused or failed write must not pass for a fast one.
  if (result.isError) throw new Error(`create_ticket failed in the bench: ${JSON.stringify(result.content)}`);
  return performance.now() - started;
}

interface Stored {
  readonly tickets: number;
  readonly keys: number;
  readonly auditRows: number;
  /** Rows whose hash does not follow from the row before (`prev_hash`) or whose seq skips. */
  readonly brokenLinks: number;
}

/** What the database holds of the bench's writes (read over DATABASE_URL; PGlite cannot be read from here). */
async function storedWrites(database: McpBenchDatabase): Promise<Stored | undefined> {
  const url = database.env.DATABASE_URL;
  if (!url) return undefined;
  const client = new pg.Client({ connectionString: url, options: "-c search_path=mcp_server" });
  await client.connect();
  try {
    const count = async (sql: string) => Number((await client.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
    return {
      tickets: await count("SELECT count(*) AS n FROM tickets WHERE title = 'Bench write'"),
      keys: await count(
        "SELECT count(*) AS n FROM idempotency_keys WHERE user_id LIKE 'u-bench-writer-%' AND result IS NOT NULL",
      ),
      auditRows: await count(
        "SELECT count(*) AS n FROM audit_log WHERE tool = 'create_ticket' AND user_id LIKE 'u-bench-writer-%' AND outcome = 'ok'",
      ),
      brokenLinks: await count(
        `SELECT count(*) AS n FROM (
           SELECT seq, prev_hash, lag(row_hash) OVER (ORDER BY seq) AS before, lag(seq) OVER (ORDER BY seq) AS seq_before
             FROM audit_log WHERE seq IS NOT NULL) AS chain
          WHERE seq_before IS NOT NULL AND (prev_hash IS DISTINCT FROM before OR seq <> seq_before + 1)`,
      ),
    };
  } finally {
    await client.end();
  }
}

function report(
  m: LoadResult,
  stored: Stored | undefined,
  database: McpBenchDatabase,
  loadBefore: number,
): void {
  console.log(
    `\n## Keyed writes: create_ticket with an idempotency key, ${CONCURRENCY} users at once, on ${database.label} (load average ${loadBefore.toFixed(2)} at start)`,
  );
  printRow("create_ticket (key claimed, ticket, answer under the key, audit row)", summarize(m.latencies));
  console.log("\n| figure | measured | target |\n|---|---|---|");
  console.log(
    `| writes/s (${m.calls} in ${m.seconds.toFixed(1)} s after ${WARM_SECONDS} s of warm-up) | ${(m.calls / m.seconds).toFixed(1)} | — |`,
  );
  console.log(`| MCP server CPU per write | ${m.serverCpuMs.toFixed(2)} ms | — |`);
  console.log(
    `| database CPU per write | ${Number.isNaN(m.databaseCpuMs) ? "not measured (not this bench's server)" : `${m.databaseCpuMs.toFixed(2)} ms`} | — |`,
  );
  if (!stored) {
    console.log("| stored: tickets, keys, audit rows | not read (PGlite) | — |");
    return;
  }
  const all = m.allCalls;
  const held = stored.tickets === all && stored.keys === all && stored.auditRows === all;
  console.log(
    `| stored for the ${all} writes answered: tickets, keys with their answer, audit rows | ${stored.tickets}, ${stored.keys}, ${stored.auditRows} | ${all} each ${held ? "✓" : "✗"} |`,
  );
  console.log(
    `| audit chain links broken (prev_hash ≠ the row before's hash, or seq skipping) | ${stored.brokenLinks} | 0 ${stored.brokenLinks === 0 ? "✓" : "✗"} |`,
  );
  console.log(`load average ${loadBefore.toFixed(2)} before, ${(loadavg()[0] ?? 0).toFixed(2)} after`);
}
