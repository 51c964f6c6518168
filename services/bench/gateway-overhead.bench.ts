import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectError, createClient, createContextValues } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { CallToolResult, Client as McpClient } from "@modelcontextprotocol/client";
import { AuthService } from "../../gen/supportext/auth/v1/auth_pb.js";
import { McpGatewayService } from "../../gen/supportext/mcpgateway/v1/mcp_gateway_pb.js";
import { createClientCredentials, SERVICE_IDS, scopesForTools, TOOL_NAMES } from "../kit/auth/index.js";
import { createServiceClient } from "../kit/client/index.js";
import { kActingAgent } from "../kit/propagation/index.js";
import { freePort } from "../kit/testing/free-port.js";
import { createTokenExchangeClient } from "../mcp-gateway/token/token-exchange-client.js";
import { compareWithBaseline } from "./gateway-baseline-compare.js";
import { connectionsTo } from "./gateway-connections.js";
import { connectDirect } from "./gateway-direct-client.js";
import { type LoadResult, median, pairedLoad } from "./gateway-load.js";
import { cpuPerCallUnder, pidsUnder } from "./gateway-process-cpu.js";
import { breakDown, profileOf } from "./gateway-profile.js";
import { type BenchStack, spawnQuietStack } from "./gateway-stack.js";
import { connectHealthServing } from "./service-process.js";
import { printRow, summarize } from "./stats.js";

const WARM_UP = 300;
const CONCURRENCIES = [16, 64] as const;
const RATE_SECONDS = 3;
const RATE_ROUNDS = 2;
const REVISION_CALLS = 500;

/** The targets for the hop (docs/performance.md, "Per-call breakdown: gateway"). */
const TARGET = { addedP50Ms: 0.5, throughputRatio: 0.9, gatewayCpuMs: 0.5 } as const;

const GATEWAY_ENTRY = "services/mcp-gateway/main.ts";
const MCP_ENTRY = "services/mcp-server/main.ts";
const PROCESSES = { gateway: GATEWAY_ENTRY, "MCP server": MCP_ENTRY };

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
 *   2025 session), direct, at the MCP server and the client.
 * With `BENCH_CPU_PROF=1` every service runs with `--cpu-prof` and the gateway's profile of the
 * concurrency-16 gateway run is broken down per call (docs/performance.md lists the parts).
 */
export async function benchGatewayOverhead(iterations: number): Promise<void> {
  const [identityPort, chatPort, mcpPort, gatewayPort, agentPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const adminPassword = `bench-${randomBytes(9).toString("base64url")}`;
  const clientSecret = `bench-${randomBytes(12).toString("base64url")}`;
  const agentSecret = `bench-${randomBytes(12).toString("base64url")}`;
  const identityUrl = `http://127.0.0.1:${identityPort}`;
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const mcpResource = `http://127.0.0.1:${mcpPort}/mcp`;
  const profileDir = process.env.BENCH_CPU_PROF ? mkdtempSync(join(tmpdir(), "gateway-prof-")) : undefined;
  const loadBefore = loadavg()[0] ?? 0;
  const stackEnv: Record<string, string> = {
    IDENTITY_PORT: String(identityPort),
    CHAT_PORT: String(chatPort),
    MCP_PORT: String(mcpPort),
    GATEWAY_PORT: String(gatewayPort),
    AGENT_PORT: String(agentPort),
    GATEWAY_CLIENT_SECRET: clientSecret,
    AGENT_CLIENT_SECRET: agentSecret,
    SEED_ADMIN_PASSWORD: adminPassword,
    // The level a deployment runs at: a per-call line written at info is part of the hop's cost.
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "info",
    ...(profileDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` } : {}),
  };
  const stack = await spawnQuietStack({
    env: stackEnv,
    // The runner starts the MCP server, the gateway and the agent together: the agent's registry
    // names the agent in the service credential, and the MCP server must have its revocation feed.
    ready: async () =>
      (await connectHealthServing(gatewayUrl)) &&
      (await connectHealthServing(`http://127.0.0.1:${agentPort}`)) &&
      (await fetch(`http://127.0.0.1:${mcpPort}/readyz`)).ok,
  });
  const closers: Array<() => Promise<unknown>> = [];
  let profileWindow: { fromUs: number; toUs: number; calls: number } | undefined;
  const gatewayPid = [...(pidsUnder([stack.pid], GATEWAY_ENTRY) ?? [])][0];
  try {
    const auth = createClient(
      AuthService,
      createConnectTransport({ baseUrl: identityUrl, httpVersion: "2" }),
    );
    const login = await auth.login({ email: "admin@company.com", password: adminPassword });
    const userToken = login.tokens?.accessToken ?? "";
    const agentCredentials = createClientCredentials({
      tokenEndpoint: `${identityUrl}/oauth2/token`,
      client: { clientId: SERVICE_IDS.agent, clientSecret: agentSecret },
    });
    const gw = createServiceClient(McpGatewayService, gatewayUrl, {
      credentials: { source: agentCredentials, audience: SERVICE_IDS.gateway },
    });
    const headers = { authorization: `Bearer ${userToken}` };
    const contextValues = createContextValues().set(kActingAgent, "support-assistant");

    const created = await gw.callTool(
      {
        name: "create_ticket",
        argumentsJson: JSON.stringify({ title: "Bench ticket", description: "for get_ticket" }),
      },
      { headers, contextValues },
    );
    const ticketId = (JSON.parse(created.structuredContentJson) as { ticket: { id: number } }).ticket.id;
    const args = { ticket_id: ticketId };
    const argumentsJson = JSON.stringify(args);

    // The direct clients hold the token the gateway uses: same exchange, same scopes.
    const exchange = createTokenExchangeClient({
      tokenEndpoint: `${identityUrl}/oauth2/token`,
      client: { clientId: SERVICE_IDS.gateway, clientSecret },
    });
    const mcpToken = await exchange.exchange({
      subjectToken: userToken,
      actorToken: await agentCredentials.tokenFor(SERVICE_IDS.gateway, "support-assistant"),
      resource: mcpResource,
      scopes: scopesForTools(TOOL_NAMES),
    });
    const direct = await connectDirect(new URL(mcpResource), mcpToken.accessToken, "auto");
    const legacy = await connectDirect(new URL(mcpResource), mcpToken.accessToken, "2025-11-25");
    closers.push(
      () => direct.close(),
      () => legacy.close(),
    );

    // A refused or failed call must not pass for a fast one.
    const viaGatewayCall = async () => {
      const r = await gw.callTool({ name: "get_ticket", argumentsJson }, { headers, contextValues });
      if (r.isError || !r.structuredContentJson.includes(`"id":${ticketId}`))
        throw new Error(`gateway get_ticket failed: ${r.text}`);
    };
    const directCallOn = (client: McpClient) => async () => {
      const r = (await client.callTool({ name: "get_ticket", arguments: args })) as CallToolResult;
      const got = (r.structuredContent as { ticket?: { id?: number } } | undefined)?.ticket?.id;
      if (r.isError || got !== ticketId)
        throw new Error(`direct get_ticket failed: ${JSON.stringify(r.content)}`);
    };
    const directCall = directCallOn(direct);

    // --- latency, interleaved --------------------------------------------------------------
    const arms = [viaGatewayCall, directCall];
    const samples: [number[], number[]] = [[], []];
    const seqCpu = await cpuPerCallUnder([stack.pid], PROCESSES, async () => {
      for (let i = 0; i < WARM_UP + iterations; i++) {
        // Alternate which path goes first, so neither always follows the other.
        for (let k = 0; k < 2; k++) {
          const a = (i + k) % 2;
          const started = performance.now();
          await (arms[a] as () => Promise<void>)();
          if (i >= WARM_UP) samples[a]?.push(performance.now() - started);
        }
      }
      return WARM_UP + iterations;
    });
    const g = summarize(samples[0]);
    const d = summarize(samples[1]);
    const paired = summarize(samples[0].map((x, i) => x - (samples[1][i] as number)));
    console.log(
      `\n## Gateway hop: warm CallTool get_ticket (load average ${loadBefore.toFixed(2)} at start)`,
    );
    printRow("via gateway (kit client, Connect/h2c → MCP HTTP)", g);
    printRow("direct (MCP SDK v2 client, gateway's configuration)", d);

    // --- throughput, closed loop -----------------------------------------------------------
    const throughput: Record<number, { via: LoadResult[]; direct: LoadResult[] }> = {};
    const connections: Record<number, number | undefined> = {};
    for (const c of CONCURRENCIES) {
      const fromUs = Number(process.hrtime.bigint() / 1000n);
      throughput[c] = await pairedLoad(
        [stack.pid],
        { via: viaGatewayCall, direct: directCall },
        c,
        RATE_SECONDS,
        RATE_ROUNDS,
        PROCESSES,
      );
      connections[c] = connectionsTo(mcpPort);
      if (c === 16) {
        const toUs = Number(process.hrtime.bigint() / 1000n);
        // The gateway serves only the via-gateway calls; the direct rounds leave it idle.
        const calls = throughput[c].via.reduce((s, r) => s + r.callsPerSecond * RATE_SECONDS, 0);
        profileWindow = { fromUs, toUs, calls };
      }
    }

    // --- what each revision costs per call, direct ---------------------------------------
    const revisionCost = async (client: McpClient) => {
      const call = directCallOn(client);
      for (let i = 0; i < 50; i++) await call();
      const times: number[] = [];
      const cpu = await cpuPerCallUnder([stack.pid], { "MCP server": MCP_ENTRY }, async () => {
        for (let i = 0; i < REVISION_CALLS; i++) {
          const t = performance.now();
          await call();
          times.push(performance.now() - t);
        }
        return REVISION_CALLS;
      });
      return { p50: summarize(times).p50, cpu };
    };
    const modernCost = await revisionCost(direct);
    const legacyCost = await revisionCost(legacy);
    const baselineDir = process.env.BENCH_GATEWAY_BASELINE;
    const baseline = baselineDir
      ? await compareWithBaseline(baselineDir, stack.pid, stackEnv, {
          ours: viaGatewayCall,
          theirs: (url) => {
            const client = createServiceClient(McpGatewayService, url, {
              credentials: { source: agentCredentials, audience: SERVICE_IDS.gateway },
            });
            return async () => {
              const r = await client.callTool(
                { name: "get_ticket", argumentsJson },
                { headers, contextValues },
              );
              if (r.isError || !r.structuredContentJson.includes(`"id":${ticketId}`))
                throw new Error(`baseline gateway get_ticket failed: ${r.text}`);
            };
          },
          iterations,
        })
      : undefined;
    const loadAfter = loadavg()[0] ?? 0;

    // --- report ----------------------------------------------------------------------------
    const mark = (ok: boolean) => (ok ? "✓" : "✗");
    const ms = (x: number | undefined) => (x === undefined ? "n/a" : `${x.toFixed(3)} ms`);
    console.log(`\n| figure | measured | target |`);
    console.log(`|---|---|---|`);
    console.log(
      `| gateway adds, p50 (paired median of ${paired.n}) | ${ms(paired.p50)} (p50 ${g.p50.toFixed(3)} vs ${d.p50.toFixed(3)} ms; p99 difference ${(g.p99 - d.p99).toFixed(3)} ms) | ≤ ${TARGET.addedP50Ms} ms ${mark(paired.p50 <= TARGET.addedP50Ms)} |`,
    );
    for (const c of CONCURRENCIES) {
      const t = throughput[c];
      if (!t) continue;
      const ratios = t.via.map((v, i) => v.callsPerSecond / (t.direct[i]?.callsPerSecond ?? Number.NaN));
      const ratio = median(ratios);
      const rates = (rs: LoadResult[]) => rs.map((r) => r.callsPerSecond.toFixed(0)).join("/");
      console.log(
        `| throughput via gateway / direct, concurrency ${c} (${RATE_ROUNDS} × ${RATE_SECONDS} s each) | ${(100 * ratio).toFixed(0)} % (${rates(t.via)} vs ${rates(t.direct)} calls/s) | ≥ ${100 * TARGET.throughputRatio} % ${mark(ratio >= TARGET.throughputRatio)} |`,
      );
    }
    const gwCpu = (rs: LoadResult[] | undefined) =>
      median((rs ?? []).map((r) => r.cpu?.gateway ?? Number.NaN));
    // Per via-gateway call: the sequential phase made as many of them as of direct calls.
    const seqGatewayPerCall = seqCpu?.gateway;
    for (const c of CONCURRENCIES) {
      const cpu = gwCpu(throughput[c]?.via);
      console.log(
        `| gateway process CPU per call, concurrency ${c} | ${ms(cpu)} | ≤ ${TARGET.gatewayCpuMs} ms ${mark(cpu <= TARGET.gatewayCpuMs)} |`,
      );
    }
    console.log(
      `| gateway process CPU per call, sequential | ${ms(seqGatewayPerCall)} | ≤ ${TARGET.gatewayCpuMs} ms ${mark((seqGatewayPerCall ?? Number.POSITIVE_INFINITY) <= TARGET.gatewayCpuMs)} |`,
    );
    const side = (rs: LoadResult[] | undefined, name: string) =>
      median((rs ?? []).map((r) => r.cpu?.[name] ?? Number.NaN));
    console.log(
      `| agent-side client CPU per call (kit client / MCP SDK client direct), concurrency 16 | ${ms(side(throughput[16]?.via, "bench client"))} / ${ms(side(throughput[16]?.direct, "bench client"))} | — |`,
    );
    console.log(
      `| MCP server CPU per call via gateway / direct, concurrency 16 | ${ms(side(throughput[16]?.via, "MCP server"))} / ${ms(side(throughput[16]?.direct, "MCP server"))} | — (the same calls) |`,
    );
    console.log(
      `| per call, direct, 2026-07-28 stateless (what the gateway speaks) vs 2025-11-25 session: p50; MCP server CPU; client CPU | ${ms(modernCost.p50)} vs ${ms(legacyCost.p50)}; ${ms(modernCost.cpu?.["MCP server"])} vs ${ms(legacyCost.cpu?.["MCP server"])}; ${ms(modernCost.cpu?.["bench client"])} vs ${ms(legacyCost.cpu?.["bench client"])} | — |`,
    );
    console.log(
      `| TCP connections open to the MCP server after the runs at concurrency ${CONCURRENCIES.join(" / ")} (gateway's and direct clients' together, after ${seqCallsTotal(iterations)} + thousands of calls) | ${CONCURRENCIES.map((c) => connections[c] ?? "n/a").join(" / ")} | ≤ concurrency × 2 (reused, keep-alive) |`,
    );
    if (baseline) console.log(baseline);
    console.log(`load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`);
  } finally {
    for (const close of closers) await close().catch(() => undefined);
    await stopQuietly(stack);
  }
  if (profileDir && profileWindow) {
    const file = gatewayPid === undefined ? undefined : profileOf(profileDir, gatewayPid);
    if (file) printBreakdown(file, profileWindow);
    else console.log(`no gateway CPU profile found in ${profileDir}`);
    if (!process.env.BENCH_KEEP_PROFILES) rmSync(profileDir, { recursive: true, force: true });
    else console.log(`profiles kept in ${profileDir}`);
  }
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

function seqCallsTotal(iterations: number): number {
  return 2 * (WARM_UP + iterations);
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
