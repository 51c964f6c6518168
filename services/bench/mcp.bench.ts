import { loadavg } from "node:os";
import type { Client } from "@modelcontextprotocol/client";
import { ROLE_SCOPES } from "#kit/contract/index.js";
import { freePort } from "#kit/testing/free-port.js";
import { startTestIssuer, type TestIssuer } from "#kit/testing/test-issuer.js";
import { exchangedReaderClaims, startBenchIdentity } from "./bench-identity.js";
import { type McpBenchDatabase, mcpBenchDatabase } from "./mcp-bench-database.js";
import { type McpBenchChild, spawnMcpChild, spawnProductMcpServer } from "./mcp-child.js";
import { callGetTicket, closedLoop, connectV2, type LoadResult, type McpTarget } from "./mcp-load.js";
import { formatMs, summarize } from "./stats.js";

const WARM_UP = 300;
const CONCURRENCY = 16;
/** The targets (docs/performance.md): server CPU per call ≤ 1.5× the floor's, throughput ≥ 0.67× the floor's. */
const CPU_RATIO_MAX = 1.5;
const THROUGHPUT_RATIO_MIN = 0.67;

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

/**
 * `npm run bench -- mcp` (docs/performance.md, "Per-call breakdown: MCP server"): the
 * real MCP server and the SDK's floor (services/bench/mcp-floor-server.ts), each in its own
 * process, started by this one invocation and driven by the same SDK v2 client, so every figure
 * is printed beside the floor's measured at the same moment on the same machine.
 *
 * - get_ticket p50/p99 sequentially (one client each, rounds interleaved floor/product);
 * - server CPU per call (the process's own /proc CPU time over the measured calls) sequentially
 *   and at 16 concurrent clients, and throughput at 16 (closed loop, each server alone in turn).
 *
 * Settings: `BENCH_ITERATIONS` (sequential calls per server), `MCP_BENCH_SECONDS` (5, per
 * concurrent window; two windows each, alternating), `MCP_BENCH_LOG_LEVEL` (the server's
 * LOG_LEVEL, default info as deployed), the database (`mcp-bench-database.ts`: an embedded PostgreSQL
 * as `npm start`'s by default; `MCP_BENCH_DATABASE_URL`, `MCP_BENCH_DATABASE=pglite`),
 * `MCP_BENCH_CPU_PROF=<dir>` (the server runs with `--cpu-prof`, profile written at its exit).
 */
export async function benchMcp(iterations: number): Promise<void> {
  const n = Math.max(500, iterations);
  const seconds = Number(process.env.MCP_BENCH_SECONDS ?? 5);
  const loadAtStart = load();
  const database = await mcpBenchDatabase();
  try {
    await benchOn(database, { n, seconds, loadAtStart });
  } finally {
    // Also when a server failed to start or stop: no embedded PostgreSQL is left behind.
    await database.close();
  }
}

async function benchOn(
  database: McpBenchDatabase,
  run: { n: number; seconds: number; loadAtStart: string },
): Promise<void> {
  const issuer = await startTestIssuer({ audience: "support-ext-api" });
  const identity = await startBenchIdentity(issuer);
  const children: McpBenchChild[] = [];
  const clients: Client[] = [];
  try {
    const servers = await startServers({ ...identity.env, ...database.env }, issuer, children);
    const targets = await mcpTargets(issuer, servers, clients, database);
    const sequential = await measureSequential(targets, run.n, clients);
    const windows = await measureConcurrent(targets, run.seconds, clients);
    printReport({ ...run, sequential, windows, database });
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    for (const c of children) await c.stop();
    await identity.close();
    await issuer.close();
  }
}

/** The two servers under test, each process joining `children` as soon as it runs. */
interface Servers {
  readonly product: McpBenchChild;
  /** The MCP server's resource URI: its tokens' audience, and where it serves MCP. */
  readonly resource: string;
  readonly floor: McpBenchChild;
  readonly floorUrl: URL;
}

async function startServers(
  serverEnv: Record<string, string>,
  issuer: TestIssuer,
  children: McpBenchChild[],
): Promise<Servers> {
  const { child: product, resource } = await spawnProductMcpServer(serverEnv, issuer);
  children.push(product);
  const floorPort = await freePort();
  const floorBase = `http://127.0.0.1:${floorPort}`;
  const floor = await spawnMcpChild({
    entry: "services/bench/mcp-floor-server.ts",
    env: { FLOOR_PORT: String(floorPort) },
    ready: async () => (await fetch(`${floorBase}/readyz`)).ok,
  });
  children.push(floor);
  return { product, resource, floor, floorUrl: new URL(`${floorBase}/mcp`) };
}

/** The floor and the MCP server as targets of the same get_ticket, on a ticket made for the bench. */
async function mcpTargets(
  issuer: TestIssuer,
  servers: Servers,
  clients: Client[],
  database: McpBenchDatabase,
): Promise<[McpTarget, McpTarget]> {
  const { product, resource } = servers;
  const admin = await issuer.mint({
    sub: "u-bench-admin",
    email: "admin@company.com",
    roles: ["admin"],
    scope: ROLE_SCOPES.admin.join(" "),
    aud: resource,
  });
  const writer = await connectV2({
    label: "MCP server",
    url: new URL(resource),
    process: product,
    authorization: `Bearer ${admin}`,
    ticketId: 0,
  });
  clients.push(writer);
  const created = await writer.callTool({
    name: "create_ticket",
    arguments: { title: "Bench ticket", description: "small", priority: "low" },
  });
  const ticketId = (created.structuredContent as { ticket: { id: number } }).ticket.id;
  // The caller the gateway makes: a viewer's exchanged token (with `act`), reused across calls.
  const reader = await issuer.mint(exchangedReaderClaims(resource));
  return [
    { label: "SDK floor", url: servers.floorUrl, process: servers.floor, ticketId },
    {
      label: "MCP server",
      url: new URL(resource),
      process: product,
      authorization: `Bearer ${reader}`,
      ticketId,
      ...(database.cpuMs ? { databaseCpuMs: database.cpuMs } : {}),
    },
  ];
}

interface Sequential {
  /** get_ticket latencies, floor's then the MCP server's. */
  readonly samples: [number[], number[]];
  /** Server CPU ms per call, floor's then the MCP server's. */
  readonly cpuPerCall: [number, number];
}

/** Sequential: one client each, interleaved rounds (order rotating) after a warm-up. */
async function measureSequential(
  targets: [McpTarget, McpTarget],
  n: number,
  clients: Client[],
): Promise<Sequential> {
  const seq = await Promise.all(targets.map((t) => connectV2(t)));
  clients.push(...seq);
  for (let i = 0; i < WARM_UP; i++) {
    for (const [k, t] of targets.entries()) await callGetTicket(seq[k] as Client, t);
  }
  const samples: [number[], number[]] = [[], []];
  const cpu0 = targets.map((t) => t.process.cpuMs());
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 2; j++) {
      const k = (i + j) % 2;
      samples[k]?.push(await callGetTicket(seq[k] as Client, targets[k] as McpTarget));
    }
  }
  const cpuPerCall = targets.map((t, k) => (t.process.cpuMs() - (cpu0[k] as number)) / n) as [number, number];
  return { samples, cpuPerCall };
}

/** Concurrent: 16 clients each, each server alone in its window, two windows each alternating. */
async function measureConcurrent(
  targets: [McpTarget, McpTarget],
  seconds: number,
  clients: Client[],
): Promise<[LoadResult[], LoadResult[]]> {
  const pools = await Promise.all(
    targets.map((t) => Promise.all(Array.from({ length: CONCURRENCY }, () => connectV2(t)))),
  );
  clients.push(...pools.flat());
  const windows: [LoadResult[], LoadResult[]] = [[], []];
  for (const order of [
    [0, 1],
    [1, 0],
  ]) {
    for (const k of order) {
      const target = targets[k] as McpTarget;
      windows[k as 0 | 1].push(
        await closedLoop(target, pools[k] as Client[], seconds, 1, (c) => callGetTicket(c, target)),
      );
    }
  }
  return windows;
}

function merge(w: readonly LoadResult[]): Merged {
  const calls = w.reduce((s, r) => s + r.calls, 0);
  return {
    calls,
    perSecond: calls / w.reduce((s, r) => s + r.seconds, 0),
    serverCpuMs: w.reduce((s, r) => s + r.serverCpuMs * r.calls, 0) / calls,
    clientCpuMs: w.reduce((s, r) => s + r.clientCpuMs * r.calls, 0) / calls,
    databaseCpuMs: w.reduce((s, r) => s + r.databaseCpuMs * r.calls, 0) / calls,
  };
}

function printReport(run: {
  n: number;
  seconds: number;
  loadAtStart: string;
  sequential: Sequential;
  windows: [LoadResult[], LoadResult[]];
  database: McpBenchDatabase;
}): void {
  const { n, seconds, sequential, windows } = run;
  const [floorS, prodS] = sequential.samples.map((s) => summarize(s)) as [
    ReturnType<typeof summarize>,
    ReturnType<typeof summarize>,
  ];
  const [floorC, prodC] = windows.map(merge) as [Merged, Merged];
  const database = run.database.label;
  console.log(
    `\n## MCP server vs the SDK v2 floor (same invocation, SDK v2 client, 2026-07-28, ${database}, server LOG_LEVEL ${process.env.MCP_BENCH_LOG_LEVEL ?? "info"})`,
  );
  console.log(`load average at start ${run.loadAtStart}, at end ${load()}; ${n} sequential calls each`);
  row("figure", "floor", "MCP server", "ratio", "target");
  row(
    "get_ticket p50, sequential",
    formatMs(floorS.p50),
    formatMs(prodS.p50),
    ratio(prodS.p50, floorS.p50),
    "—",
  );
  row(
    "get_ticket p99, sequential",
    formatMs(floorS.p99),
    formatMs(prodS.p99),
    ratio(prodS.p99, floorS.p99),
    "—",
  );
  const [fSeq, pSeq] = sequential.cpuPerCall;
  row(
    "server CPU per call, sequential",
    formatMs(fSeq),
    formatMs(pSeq),
    ratio(pSeq, fSeq),
    judge(pSeq / fSeq <= CPU_RATIO_MAX, `≤ ${CPU_RATIO_MAX}×`),
  );
  row(
    `server CPU per call, ${CONCURRENCY} concurrent`,
    formatMs(floorC.serverCpuMs),
    formatMs(prodC.serverCpuMs),
    ratio(prodC.serverCpuMs, floorC.serverCpuMs),
    judge(prodC.serverCpuMs / floorC.serverCpuMs <= CPU_RATIO_MAX, `≤ ${CPU_RATIO_MAX}×`),
  );
  row(
    `throughput, ${CONCURRENCY} concurrent (calls/s)`,
    floorC.perSecond.toFixed(0),
    prodC.perSecond.toFixed(0),
    ratio(prodC.perSecond, floorC.perSecond),
    judge(prodC.perSecond / floorC.perSecond >= THROUGHPUT_RATIO_MIN, `≥ ${THROUGHPUT_RATIO_MIN}×`),
  );
  printOtherCpu(floorC, prodC);
  const served = 1 + WARM_UP + n + windows[1].reduce((s, r) => s + r.allCalls, 0);
  console.log(
    `(${floorC.calls} / ${prodC.calls} calls measured in the concurrent windows, 2 × ${seconds} s each; the MCP server served ${served} tools/call in all, for mcp-profile-breakdown.ts)`,
  );
}

/** The CPU the servers do not spend themselves: the bench client's, the database's. */
function printOtherCpu(floorC: Merged, prodC: Merged): void {
  row(
    `client CPU per call, ${CONCURRENCY} concurrent`,
    formatMs(floorC.clientCpuMs),
    formatMs(prodC.clientCpuMs),
    ratio(prodC.clientCpuMs, floorC.clientCpuMs),
    "— (the bench's own)",
  );
  if (Number.isFinite(prodC.databaseCpuMs))
    row(
      `database CPU per call, ${CONCURRENCY} concurrent`,
      "—",
      formatMs(prodC.databaseCpuMs),
      "",
      "— (PostgreSQL: the ticket read, the audit rows; the floor has none)",
    );
}

const row = (figure: string, floor: string, prod: string, ratio: string, target: string) =>
  console.log(
    `${figure.padEnd(40)} ${floor.padStart(12)} ${prod.padStart(12)} ${ratio.padStart(8)}  ${target}`,
  );

interface Merged {
  calls: number;
  perSecond: number;
  serverCpuMs: number;
  clientCpuMs: number;
  databaseCpuMs: number;
}

const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const judge = (ok: boolean, target: string) => `${target} ${ok ? "✓" : "✗"}`;
