import { type FloorFigures, floorCpuAt } from "./gateway-floor-compare.js";
import { type LoadResult, median } from "./gateway-load.js";
import type { Summary } from "./stats.js";

/** The targets for the hop (docs/performance.md, "Per-call breakdown: gateway"). */
const TARGET = { addedP50Ms: 0.5, throughputRatio: 0.9, gatewayCpuMs: 0.5 } as const;

/** CPU ms per call by process name ("gateway", "MCP server", "bench client"); undefined off Linux. */
type CpuPerCall = Record<string, number> | undefined;

/** What one invocation of the gateway bench measured. */
export interface GatewayFigures {
  /** Per-iteration differences via gateway − direct, and each arm's own latencies. */
  readonly paired: Summary;
  readonly viaGateway: Summary;
  readonly direct: Summary;
  readonly concurrencies: readonly number[];
  /** Closed-loop runs by concurrency: `rounds` × `seconds` each. */
  readonly throughput: Record<number, { via: LoadResult[]; direct: LoadResult[] }>;
  readonly rounds: number;
  readonly seconds: number;
  /** TCP connections open to the MCP server after the runs at each concurrency. */
  readonly connections: Record<number, number | undefined>;
  /** The sequential phase: CPU per call, and how many calls each arm made. */
  readonly sequentialCpu: CpuPerCall;
  readonly sequentialCalls: number;
  /** Direct, per revision: 2026-07-28 stateless (what the gateway speaks) and a 2025-11-25 session. */
  readonly modern: { readonly p50: number; readonly cpu: CpuPerCall };
  readonly legacy: { readonly p50: number; readonly cpu: CpuPerCall };
  /** The floor gateway (connect-node + the MCP SDK client, nothing else), measured in the same run. */
  readonly floor: FloorFigures;
  /** Rows comparing with a baseline checkout's gateway, when one was asked for. */
  readonly baseline: string | undefined;
  readonly loadBefore: number;
  readonly loadAfter: number;
}

const mark = (ok: boolean) => (ok ? "✓" : "✗");
const ms = (x: number | undefined) => (x === undefined ? "n/a" : `${x.toFixed(3)} ms`);
const cpuOf = (rs: LoadResult[] | undefined, name: string) =>
  median((rs ?? []).map((r) => r.cpu?.[name] ?? Number.NaN));

/** The gateway bench's table: each figure beside its target. */
export function printGatewayReport(f: GatewayFigures): void {
  const { concurrencies } = f;
  console.log(`\n| figure | measured | target |`);
  console.log(`|---|---|---|`);
  console.log(
    `| gateway adds, p50 (paired median of ${f.paired.n}) | ${ms(f.paired.p50)} (p50 ${f.viaGateway.p50.toFixed(3)} vs ${f.direct.p50.toFixed(3)} ms; p99 difference ${(f.viaGateway.p99 - f.direct.p99).toFixed(3)} ms) | ≤ ${TARGET.addedP50Ms} ms ${mark(f.paired.p50 <= TARGET.addedP50Ms)} |`,
  );
  for (const c of concurrencies) printThroughputRow(f, "gateway", f.throughput[c], c);
  for (const c of concurrencies) {
    const cpu = cpuOf(f.throughput[c]?.via, "gateway");
    console.log(
      `| gateway process CPU per call, concurrency ${c} | ${ms(cpu)} | ≤ ${TARGET.gatewayCpuMs} ms ${mark(cpu <= TARGET.gatewayCpuMs)} |`,
    );
  }
  // Per via-gateway call: the sequential phase made as many of them as of direct calls.
  const sequential = f.sequentialCpu?.gateway;
  console.log(
    `| gateway process CPU per call, sequential | ${ms(sequential)} | ≤ ${TARGET.gatewayCpuMs} ms ${mark((sequential ?? Number.POSITIVE_INFINITY) <= TARGET.gatewayCpuMs)} |`,
  );
  const at16 = f.throughput[16];
  console.log(
    `| agent-side client CPU per call (kit client / MCP SDK client direct), concurrency 16 | ${ms(cpuOf(at16?.via, "bench client"))} / ${ms(cpuOf(at16?.direct, "bench client"))} | — |`,
  );
  console.log(
    `| MCP server CPU per call via gateway / direct, concurrency 16 | ${ms(cpuOf(at16?.via, "MCP server"))} / ${ms(cpuOf(at16?.direct, "MCP server"))} | — (the same calls) |`,
  );
  console.log(
    `| per call, direct, 2026-07-28 stateless (what the gateway speaks) vs 2025-11-25 session: p50; MCP server CPU; client CPU | ${ms(f.modern.p50)} vs ${ms(f.legacy.p50)}; ${ms(f.modern.cpu?.["MCP server"])} vs ${ms(f.legacy.cpu?.["MCP server"])}; ${ms(f.modern.cpu?.["bench client"])} vs ${ms(f.legacy.cpu?.["bench client"])} | — |`,
  );
  console.log(
    `| TCP connections open to the MCP server after the runs at concurrency ${concurrencies.join(" / ")} (gateway's and direct clients' together, after ${f.sequentialCalls} + thousands of calls) | ${concurrencies.map((c) => f.connections[c] ?? "n/a").join(" / ")} | ≤ concurrency × 2 (reused, keep-alive) |`,
  );
  printFloorRows(f);
  if (f.baseline) console.log(f.baseline);
  console.log(`load average ${f.loadBefore.toFixed(2)} before, ${f.loadAfter.toFixed(2)} after`);
}

function printThroughputRow(
  f: GatewayFigures,
  hop: string,
  t: { via: LoadResult[]; direct: LoadResult[] } | undefined,
  c: number,
): void {
  if (!t) return;
  const ratios = t.via.map((v, i) => v.callsPerSecond / (t.direct[i]?.callsPerSecond ?? Number.NaN));
  const ratio = median(ratios);
  const rates = (rs: LoadResult[]) => rs.map((r) => r.callsPerSecond.toFixed(0)).join("/");
  console.log(
    `| throughput via ${hop} / direct, concurrency ${c} (${f.rounds} × ${f.seconds} s each) | ${(100 * ratio).toFixed(0)} % (${rates(t.via)} vs ${rates(t.direct)} calls/s) | ≥ ${100 * TARGET.throughputRatio} % ${mark(ratio >= TARGET.throughputRatio)} |`,
  );
}

/**
 * The same three figures for the floor gateway, against the same targets: where the floor misses
 * one, no gateway built on these two libraries meets it on this machine; and the gateway's CPU as a
 * multiple of the floor's, the ratio that stays comparable between runs.
 */
function printFloorRows(f: GatewayFigures): void {
  const { floor, concurrencies } = f;
  console.log(
    `| floor gateway (connect-node h2c in, MCP SDK v2 client out, nothing else) adds, p50 (paired median of ${floor.paired.n}) | ${ms(floor.paired.p50)} | ≤ ${TARGET.addedP50Ms} ms ${mark(floor.paired.p50 <= TARGET.addedP50Ms)} |`,
  );
  for (const c of concurrencies) printThroughputRow(f, "floor gateway", floor.throughput[c], c);
  for (const c of concurrencies) {
    const cpu = floorCpuAt(floor, c);
    const gateway = cpuOf(f.throughput[c]?.via, "gateway");
    console.log(
      `| floor gateway process CPU per call, concurrency ${c}; the gateway's as a multiple of it | ${ms(cpu)}; ${(gateway / cpu).toFixed(2)}× | ≤ ${TARGET.gatewayCpuMs} ms ${mark(cpu <= TARGET.gatewayCpuMs)} |`,
    );
  }
}
