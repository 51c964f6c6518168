import { freePort } from "#kit/testing/free-port.js";
import { startBaselineGateway } from "./gateway-baseline.js";
import { median, pairedDifferences, pairedLoad } from "./gateway-load.js";
import { summarize } from "./stats.js";

const ROUNDS = 3;
const SECONDS = 3;
const OUR_GATEWAY = new URL("../mcp-gateway/main.ts", import.meta.url).pathname;

/**
 * This checkout's gateway against `checkout`'s (BENCH_GATEWAY_BASELINE), both beside the same
 * stack: per-call latency interleaved (paired median of the differences), then gateway CPU per
 * call and throughput at concurrency 16 and 64, rounds alternated. Returns the table rows.
 */
export async function compareWithBaseline(
  checkout: string,
  stackPid: number,
  env: Record<string, string>,
  arms: {
    readonly ours: () => Promise<void>;
    /** A call through the gateway at `url`, as `ours` makes it through this checkout's. */
    readonly theirs: (url: string) => () => Promise<void>;
    readonly iterations: number;
  },
): Promise<string> {
  const { NODE_OPTIONS: _, ...plain } = env;
  const base = await startBaselineGateway(checkout, await freePort(), plain);
  try {
    const theirs = arms.theirs(base.url);
    for (let i = 0; i < 200; i++) await theirs();
    const diffs = await pairedDifferences(arms.ours, theirs, arms.iterations);
    const rows = [
      `| this gateway − baseline (${checkout}), warm CallTool, paired median of ${diffs.length} | ${summarize(diffs).p50.toFixed(3)} ms | < 0 is faster |`,
    ];
    const processes = { ours: OUR_GATEWAY, baseline: base.entry };
    for (const c of [16, 64]) {
      const r = await pairedLoad(
        [stackPid, base.pid],
        { via: arms.ours, direct: theirs },
        c,
        SECONDS,
        ROUNDS,
        processes,
      );
      const cpu = (rs: typeof r.via, name: string) => median(rs.map((x) => x.cpu?.[name] ?? Number.NaN));
      const rate = (rs: typeof r.via) => rs.map((x) => x.callsPerSecond.toFixed(0)).join("/");
      rows.push(
        `| gateway CPU per call, this / baseline, concurrency ${c} (${ROUNDS} × ${SECONDS} s each, alternated) | ${cpu(r.via, "ours").toFixed(3)} / ${cpu(r.direct, "baseline").toFixed(3)} ms (calls/s ${rate(r.via)} vs ${rate(r.direct)}) | — |`,
      );
    }
    return rows.join("\n");
  } finally {
    await base.stop();
  }
}
