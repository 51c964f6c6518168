import { randomBytes } from "node:crypto";
import { createClient, createContextValues } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Client as McpClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { AuthService } from "../../gen/supportext/auth/v1/auth_pb.js";
import { McpGatewayService } from "../../gen/supportext/mcpgateway/v1/mcp_gateway_pb.js";
import { createClientCredentials } from "../kit/auth/client-credentials.js";
import { scopesForTools, TOOL_NAMES } from "../kit/auth/scopes.js";
import { SERVICE_IDS } from "../kit/auth/service-identity.js";
import { createServiceClient } from "../kit/client/service-client.js";
import { kActingAgent } from "../kit/propagation/context-keys.js";
import { freePort } from "../kit/testing/free-port.js";
import { nodeHttpFetch } from "../mcp-gateway/session/node-http-fetch.js";
import { createTokenExchangeClient } from "../mcp-gateway/token/token-exchange-client.js";
import { cpuPerCall } from "./process-cpu.js";
import { connectHealthServing, spawnBenchProcess } from "./service-process.js";
import { printRow, summarize } from "./stats.js";

const WARM_UP = 300;
const CONCURRENCY = 16;
const RATE_SECONDS = 3;

/**
 * Issue 6 / docs/performance.md: the cost of one warm CallTool through the gateway (called as the agent calls
 * it: the kit client, Connect protocol over h2c; MCP streamable
 * HTTP out, exchanged token cached) versus the same call made directly with the MCP SDK client
 * holding the token the gateway would use. The stack runs as `npm start` runs it — identity, chat,
 * MCP server, gateway and agent each their own process — so the bench measures the hop, not an
 * event loop shared by every part. Logins and tokens come from the identity service. Both arms use the same SDK client configuration (the gateway's fetch), the same
 * server, the same tool; latency samples are interleaved in one run, then throughput of each path
 * at the same concurrency.
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
  const stack = await spawnBenchProcess({
    entry: "services/stack/main.ts",
    env: {
      IDENTITY_PORT: String(identityPort),
      CHAT_PORT: String(chatPort),
      MCP_PORT: String(mcpPort),
      GATEWAY_PORT: String(gatewayPort),
      AGENT_PORT: String(agentPort),
      GATEWAY_CLIENT_SECRET: clientSecret,
      AGENT_CLIENT_SECRET: agentSecret,
      SEED_ADMIN_PASSWORD: adminPassword,
      LOG_LEVEL: "error",
    },
    // The runner starts the MCP server, the gateway and the agent together: the agent's registry
    // names the agent in the service credential, and the MCP server must have its revocation feed.
    ready: async () =>
      (await connectHealthServing(gatewayUrl)) &&
      (await connectHealthServing(`http://127.0.0.1:${agentPort}`)) &&
      (await fetch(`http://127.0.0.1:${mcpPort}/readyz`)).ok,
    readyTimeoutMs: 120_000,
  });
  const closers: Array<() => Promise<unknown>> = [];
  try {
    const auth = createClient(
      AuthService,
      createConnectTransport({ baseUrl: identityUrl, httpVersion: "2" }),
    );
    const login = await auth.login({ email: "admin@company.com", password: adminPassword });
    const userToken = login.tokens?.accessToken ?? "";
    // As the agent calls it: the kit client (Connect protocol, binary, over h2c) with the agent
    // service's own credential naming the agent, and the user's token.
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

    // The direct client holds the token the gateway uses: same exchange, same scopes.
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
    const direct = new McpClient({ name: "bench-direct", version: "1.0.0" });
    await direct.connect(
      new StreamableHTTPClientTransport(new URL(mcpResource), {
        fetch: (url, init) => {
          const h = new Headers(init?.headers);
          h.set("authorization", `Bearer ${mcpToken.accessToken}`);
          return nodeHttpFetch(url, { ...init, headers: h });
        },
      }),
    );
    closers.push(() => direct.close());

    // A refused or failed call must not pass for a fast one.
    const viaGatewayCall = async () => {
      const r = await gw.callTool({ name: "get_ticket", argumentsJson }, { headers, contextValues });
      if (r.isError || !r.structuredContentJson.includes(`"id":${ticketId}`))
        throw new Error(`gateway get_ticket failed: ${r.text}`);
    };
    const directCall = async () => {
      const r = (await direct.callTool({ name: "get_ticket", arguments: args })) as CallToolResult;
      const got = (r.structuredContent as { ticket?: { id?: number } } | undefined)?.ticket?.id;
      if (r.isError || got !== ticketId)
        throw new Error(`direct get_ticket failed: ${JSON.stringify(r.content)}`);
    };

    const arms = [viaGatewayCall, directCall];
    const samples: [number[], number[]] = [[], []];
    for (let i = 0; i < WARM_UP + iterations; i++) {
      // Alternate which path goes first, so neither always follows the other.
      for (let k = 0; k < 2; k++) {
        const a = (i + k) % 2;
        const started = performance.now();
        await (arms[a] as () => Promise<void>)();
        if (i >= WARM_UP) samples[a]?.push(performance.now() - started);
      }
    }
    const g = summarize(samples[0]);
    const d = summarize(samples[1]);
    const paired = summarize(samples[0].map((x, i) => x - (samples[1][i] as number)));
    console.log(
      "\n## Warm CallTool: gateway vs direct MCP SDK client (get_ticket; stack as separate processes)",
    );
    printRow("via gateway (Connect/h2c → MCP streamable HTTP)", g);
    printRow("direct (MCP SDK Client, exchanged token)", d);
    console.log(
      `gateway adds: p50 ${(g.p50 - d.p50).toFixed(3)} ms, p99 ${(g.p99 - d.p99).toFixed(3)} ms (difference of percentiles); paired median ${paired.p50.toFixed(3)} ms`,
    );

    const countCalls = async (call: () => Promise<void>) => {
      let done = 0;
      const until = performance.now() + RATE_SECONDS * 1000;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (performance.now() < until) {
            await call();
            done++;
          }
        }),
      );
      return done;
    };
    const processes = {
      gateway: "services/mcp-gateway/main.ts",
      "MCP server": "services/mcp-server/main.ts",
    };
    let gwCalls = 0;
    let directCalls = 0;
    const gwCpu = await cpuPerCall(processes, async () => (gwCalls = await countCalls(viaGatewayCall)));
    const directCpu = await cpuPerCall(processes, async () => (directCalls = await countCalls(directCall)));
    const gwRate = gwCalls / RATE_SECONDS;
    const directRate = directCalls / RATE_SECONDS;
    console.log(
      `throughput at concurrency ${CONCURRENCY}, ${RATE_SECONDS} s each: gateway ${gwRate.toFixed(0)} calls/s, direct ${directRate.toFixed(0)} calls/s (${((100 * gwRate) / directRate).toFixed(0)}% of direct; docs/performance.md: ≥ 80%)`,
    );
    const show = (cpu: Record<string, number> | undefined) =>
      cpu
        ? Object.entries(cpu)
            .map(([name, ms]) => `${name} ${ms.toFixed(3)}`)
            .join(", ")
        : "n/a (no /proc)";
    console.log(`CPU ms per call — via gateway: ${show(gwCpu)}; direct: ${show(directCpu)}`);
  } finally {
    for (const close of closers) await close().catch(() => undefined);
    await stack.stop();
  }
}
