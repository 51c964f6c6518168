import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectError } from "@connectrpc/connect";
import { type Call, connectGatewayArms, type GatewayArms } from "./gateway-arms.js";
import { compareWithBaseline } from "./gateway-baseline-compare.js";
import { connectionsTo } from "./gateway-connections.js";
import { measureFloor } from "./gateway-floor-compare.js";
import { type LoadResult, pairedLoad } from "./gateway-load.js";
import { cpuPerCallUnder, pidsUnder } from "./gateway-process-cpu.js";
import { breakDown, profileOf } from "./gateway-profile.js";
import { printGatewayReport } from "./gateway-report.js";
import { type BenchStack, type GatewayBenchStack, startGatewayBenchStack } from "./gateway-stack.js";
import { printRow, summarize } from "./stats.js";

const WARM_UP = 300;
const CONCURRENCIES = [16, 64] as const;
const RATE_SECONDS = 3;
const RATE_ROUNDS = 2;
const REVISION_CALLS = 500;

const GATEWAY_ENTRY = "services/mcp-gateway/main.ts";
const MCP_ENTRY = "services/mcp-server/main.ts";
const PROCESSES = { gateway: GATEWAY_ENTRY, "MCP server": MCP_ENTRY };

/** The concurrency-16 via-gateway rounds: when they ran (µs) and how many calls the gateway served. */
interface ProfileWindow {
  fromUs: number;
  toUs: number;
  calls: number;
}

/**
 * docs/performance.md: what the gateway adds to one warm CallTool, in one invocation,
 * each figure beside its target. The stack runs as `npm start` runs it (each service its own
 * process); the gateway is called as the agent calls it (the kit client: Connect, binary, h2c, the
 * agent's service credential naming the agent, the user's token), and the "direct" arm is the same
 * MCP SDK v2 client, configured as the gateway's, holding the token the gateway sends. Figures:
 * - added p50: the median of per-iteration differences, the two arms interleaved (paired);
 * - throughput via the gateway / direct, closed loop at concurrency 16 and 64, rounds alternated;
 * - CPU per call of the gateway process (and of the agent-side client, the bench itself), /proc;
 * - what each MCP revision costs per call (2026-07-28 stateless, which the gateway speaks, vs a
 *   2025 session), direct, at the MCP server and the client;
 * - the same three figures for the gateway's floor (`gateway-floor-server.ts`: connect-node in, the
 *   MCP SDK v2 client out, nothing else) beside the same stack, and the gateway's CPU as a multiple
 *   of the floor's.
 * With `BENCH_CPU_PROF=1` every service runs with `--cpu-prof` and the gateway's profile of the
 * concurrency-16 gateway run is broken down per call (docs/performance.md lists the parts).
 */
export async function benchGatewayOverhead(iterations: number): Promise<void> {
  const profileDir = process.env.BENCH_CPU_PROF ? mkdtempSync(join(tmpdir(), "gateway-prof-")) : undefined;
  const loadBefore = loadavg()[0] ?? 0;
  const stack = await startGatewayBenchStack(profileDir);
  let arms: GatewayArms | undefined;
  let profileWindow: ProfileWindow | undefined;
  const gatewayPid = [...(pidsUnder([stack.pid], GATEWAY_ENTRY) ?? [])][0];
  try {
    const connected = await connectGatewayArms(stack);
    arms = connected;
    const latency = await measureLatency(stack.pid, arms, iterations);
    console.log(
      `\n## Gateway hop: warm CallTool get_ticket (load average ${loadBefore.toFixed(2)} at start)`,
    );
    printRow("via gateway (kit client, Connect/h2c → MCP HTTP)", latency.viaGateway);
    printRow("direct (MCP SDK v2 client, gateway's configuration)", latency.direct);
    const load = await measureThroughput(stack, arms);
    profileWindow = load.profileWindow;
    const modern = await revisionCost(stack.pid, arms.directOn(arms.direct));
    const legacy = await revisionCost(stack.pid, arms.directOn(arms.legacy));
    const floor = await measureFloor({
      stackPid: stack.pid,
      mcpResource: stack.mcpResource,
      mcpToken: arms.mcpToken,
      via: (url) => connected.viaGatewayAt(url, "floor gateway"),
      direct: arms.directOn(arms.direct),
      iterations,
      concurrencies: CONCURRENCIES,
      seconds: RATE_SECONDS,
      rounds: RATE_ROUNDS,
    });
    const baselineDir = process.env.BENCH_GATEWAY_BASELINE;
    const baseline = baselineDir
      ? await compareWithBaseline(baselineDir, stack.pid, stack.env, {
          ours: arms.viaGateway,
          theirs: arms.viaGatewayAt,
          iterations,
        })
      : undefined;
    printGatewayReport({
      ...latency,
      ...load,
      concurrencies: CONCURRENCIES,
      rounds: RATE_ROUNDS,
      seconds: RATE_SECONDS,
      sequentialCalls: 2 * (WARM_UP + iterations),
      modern,
      legacy,
      floor,
      baseline,
      loadBefore,
      loadAfter: loadavg()[0] ?? 0,
    });
  } finally {
    await arms?.close();
    await stopQuietly(stack);
  }
  if (profileDir && profileWindow) printProfile(profileDir, gatewayPid, profileWindow);
}

/** The two arms interleaved after a warm-up, alternating which goes first, so neither always follows the other. */
async function measureLatency(stackPid: number, arms: GatewayArms, iterations: number) {
  const calls = [arms.viaGateway, arms.directOn(arms.direct)];
  const samples: [number[], number[]] = [[], []];
  const sequentialCpu = await cpuPerCallUnder([stackPid], PROCESSES, async () => {
    for (let i = 0; i < WARM_UP + iterations; i++) {
      for (let k = 0; k < 2; k++) {
        const a = (i + k) % 2;
        const started = performance.now();
        await (calls[a] as Call)();
        if (i >= WARM_UP) samples[a]?.push(performance.now() - started);
      }
    }
    return WARM_UP + iterations;
  });
  return {
    viaGateway: summarize(samples[0]),
    direct: summarize(samples[1]),
    paired: summarize(samples[0].map((x, i) => x - (samples[1][i] as number))),
    sequentialCpu,
  };
}

/** Closed-loop throughput of both arms at each concurrency, and the connections left to the MCP server. */
async function measureThroughput(stack: GatewayBenchStack, arms: GatewayArms) {
  const throughput: Record<number, { via: LoadResult[]; direct: LoadResult[] }> = {};
  const connections: Record<number, number | undefined> = {};
  let profileWindow: ProfileWindow | undefined;
  const directCall = arms.directOn(arms.direct);
  for (const c of CONCURRENCIES) {
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    throughput[c] = await pairedLoad(
      [stack.pid],
      { via: arms.viaGateway, direct: directCall },
      c,
      RATE_SECONDS,
      RATE_ROUNDS,
      PROCESSES,
    );
    connections[c] = connectionsTo(stack.mcpPort);
    if (c === 16) {
      const toUs = Number(process.hrtime.bigint() / 1000n);
      // The gateway serves only the via-gateway calls; the direct rounds leave it idle.
      const calls = throughput[c].via.reduce((s, r) => s + r.callsPerSecond * RATE_SECONDS, 0);
      profileWindow = { fromUs, toUs, calls };
    }
  }
  return { throughput, connections, profileWindow };
}

/** What one revision costs per call, direct: p50 and CPU at the MCP server and the client. */
async function revisionCost(stackPid: number, call: Call) {
  for (let i = 0; i < 50; i++) await call();
  const times: number[] = [];
  const cpu = await cpuPerCallUnder([stackPid], { "MCP server": MCP_ENTRY }, async () => {
    for (let i = 0; i < REVISION_CALLS; i++) {
      const t = performance.now();
      await call();
      times.push(performance.now() - t);
    }
    return REVISION_CALLS;
  });
  return { p50: summarize(times).p50, cpu };
}

/**
 * Stops the stack. connect-node can emit an unhandled "received GOAWAY without any open streams"
 * on a client session when the server it talks to shuts down (a race in its session manager): that
 * one error, while the stack stops and shortly after, ends no bench run.
 */
async function stopQuietly(stack: BenchStack): Promise<void> {
  const swallow = (err: Error) => {
    if (!(err instanceof ConnectError && err.rawMessage.includes("GOAWAY"))) throw err;
  };
  process.on("uncaughtException", swallow);
  try {
    await stack.stop();
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    process.off("uncaughtException", swallow);
  }
}

/** The gateway's CPU profile of `window`, broken down per call; the profiles removed unless asked to keep them. */
function printProfile(profileDir: string, gatewayPid: number | undefined, window: ProfileWindow): void {
  const file = gatewayPid === undefined ? undefined : profileOf(profileDir, gatewayPid);
  if (file) printBreakdown(file, window);
  else console.log(`no gateway CPU profile found in ${profileDir}`);
  if (!process.env.BENCH_KEEP_PROFILES) rmSync(profileDir, { recursive: true, force: true });
  else console.log(`profiles kept in ${profileDir}`);
}

function printBreakdown(file: string, w: { fromUs: number; toUs: number; calls: number }): void {
  const b = breakDown(file, w.fromUs, w.toUs, w.calls);
  console.log(`profile ${file}, window ${w.fromUs}..${w.toUs} µs`);
  console.log(
    `\n## Gateway CPU per call by part (--cpu-prof, concurrency 16 via-gateway rounds, ${w.calls.toFixed(0)} calls; total ${b.totalMsPerCall.toFixed(3)} ms/call)`,
  );
  console.log("| part | ms per call | share |\n|---|---|---|");
  for (const [part, v] of b.parts)
    console.log(`| ${part} | ${v.toFixed(3)} | ${((100 * v) / b.totalMsPerCall).toFixed(0)} % |`);
  console.log("\nhottest functions (self time, ms per call):");
  for (const [name, v] of b.top) console.log(`  ${v.toFixed(3)}  ${name}`);
}
