import { freePort } from "#kit/testing/free-port.js";
import type { Call } from "./gateway-arms.js";
import { type LoadResult, median, pairedDifferences, pairedLoad } from "./gateway-load.js";
import { spawnBenchProcess } from "./service-process.js";
import { type Summary, summarize } from "./stats.js";

const FLOOR_ENTRY = "services/bench/gateway-floor-server.ts";
const WARM_UP = 200;

/** The floor gateway beside the stack, measured as the gateway is: against the direct client. */
export interface FloorFigures {
  /** Per-iteration differences via the floor − direct (paired). */
  readonly paired: Summary;
  /** Closed-loop runs by concurrency: via the floor, and direct, rounds alternated. */
  readonly throughput: Record<number, { via: LoadResult[]; direct: LoadResult[] }>;
}

/**
 * The gateway's floor (`gateway-floor-server.ts`: connect-node in, the MCP SDK v2 client out,
 * nothing else) started beside the stack on the same MCP server, with the token the gateway sends,
 * and measured exactly as the gateway is: added p50 paired against the direct client, then
 * throughput and its own CPU per call at each concurrency, rounds alternated. Run in the same
 * invocation as the gateway's own figures, so the ratio gateway / floor is honest on a machine
 * whose speed moves between runs (docs/performance.md, "Per-call breakdown: gateway").
 */
export async function measureFloor(options: {
  readonly stackPid: number;
  readonly mcpResource: string;
  readonly mcpToken: string;
  /** A call through a gateway at `url`, made as the agent makes it. */
  readonly via: (url: string) => Call;
  readonly direct: Call;
  readonly iterations: number;
  readonly concurrencies: readonly number[];
  readonly seconds: number;
  readonly rounds: number;
}): Promise<FloorFigures> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const floorCall = options.via(url);
  const floor = await spawnBenchProcess({
    entry: FLOOR_ENTRY,
    label: "floor gateway",
    env: { FLOOR_PORT: String(port), FLOOR_MCP_URL: options.mcpResource, FLOOR_MCP_TOKEN: options.mcpToken },
    // Ready once it answers the very call measured.
    ready: () =>
      floorCall().then(
        () => true,
        () => false,
      ),
  });
  try {
    for (let i = 0; i < WARM_UP; i++) await floorCall();
    const diffs = await pairedDifferences(floorCall, options.direct, options.iterations);
    const throughput: FloorFigures["throughput"] = {};
    for (const c of options.concurrencies) {
      throughput[c] = await pairedLoad(
        [options.stackPid, floor.pid],
        { via: floorCall, direct: options.direct },
        c,
        options.seconds,
        options.rounds,
        { "floor gateway": FLOOR_ENTRY },
      );
    }
    return { paired: summarize(diffs), throughput };
  } finally {
    await floor.stop();
  }
}

/** The floor's CPU per call at concurrency `c`: the median of its rounds. */
export function floorCpuAt(f: FloorFigures, c: number): number {
  return median((f.throughput[c]?.via ?? []).map((r) => r.cpu?.["floor gateway"] ?? Number.NaN));
}
