import { createTokenExchangeClient } from "../mcp-gateway/token/token-exchange-client.js";
import { startTestStack } from "../mcp-gateway/testing/test-stack.js";
import { printRow, summarize } from "./stats.js";

/**
 * Issue 6: the cost of one warm CallTool through the gateway (Connect/gRPC in, MCP out, token
 * exchange cached) versus the same call made directly with the MCP SDK client holding an
 * MCP-audience token — same MCP server, same tool, interleaved, one run. Then throughput of both
 * paths at the same concurrency (brief §11: gateway within 80% of direct).
 */
export async function benchGatewayOverhead(iterations: number): Promise<void> {
  const stack = await startTestStack({ LOG_LEVEL: "error" });
  try {
    const admin = await stack.login("admin@company.com", stack.passwords.admin);
    const headers = { authorization: `Bearer ${admin.accessToken}` };
    const gw = stack.gatewayClient("grpc");
    const created = await gw.callTool(
      { name: "create_ticket", argumentsJson: JSON.stringify({ title: "Bench ticket", description: "for get_ticket" }) },
      { headers },
    );
    const ticketId = (JSON.parse(created.structuredContentJson) as { ticket: { id: number } }).ticket.id;
    const args = { ticket_id: ticketId };
    const argumentsJson = JSON.stringify(args);

    // The direct client gets the token the gateway would use: same exchange, same scopes.
    const exchange = createTokenExchangeClient({
      tokenEndpoint: stack.config.AUTH_TOKEN_URL,
      clientId: stack.config.GATEWAY_CLIENT_ID,
      clientSecret: stack.config.GATEWAY_CLIENT_SECRET,
    });
    const mcpToken = await exchange.exchange({
      subjectToken: admin.accessToken,
      resource: stack.config.MCP_RESOURCE,
      scopes: ["tickets:read", "tickets:write", "tickets:delete", "integrations:read", "system:read"],
    });
    const direct = await stack.mcpDirect(mcpToken.accessToken);

    for (let i = 0; i < 200; i++) {
      await gw.callTool({ name: "get_ticket", argumentsJson }, { headers });
      await direct.callTool({ name: "get_ticket", arguments: args });
    }
    const viaGateway: number[] = [];
    const viaDirect: number[] = [];
    for (let i = 0; i < iterations; i++) {
      let s = performance.now();
      await gw.callTool({ name: "get_ticket", argumentsJson }, { headers });
      viaGateway.push(performance.now() - s);
      s = performance.now();
      await direct.callTool({ name: "get_ticket", arguments: args });
      viaDirect.push(performance.now() - s);
    }
    const g = summarize(viaGateway);
    const d = summarize(viaDirect);
    console.log("\n## Warm CallTool: gateway vs direct MCP SDK client (get_ticket, sequential, interleaved)");
    printRow("via gateway (gRPC/h2c → MCP streamable HTTP)", g);
    printRow("direct (MCP SDK Client, exchanged token)", d);
    console.log(`gateway adds: p50 ${(g.p50 - d.p50).toFixed(3)} ms, p99 ${(g.p99 - d.p99).toFixed(3)} ms`);

    const concurrency = 16;
    const seconds = 3;
    const rate = async (call: () => Promise<unknown>) => {
      let done = 0;
      const until = performance.now() + seconds * 1000;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < until) {
            await call();
            done++;
          }
        }),
      );
      return done / seconds;
    };
    const gwRate = await rate(() => gw.callTool({ name: "get_ticket", argumentsJson }, { headers }));
    const directRate = await rate(() => direct.callTool({ name: "get_ticket", arguments: args }));
    console.log(
      `throughput at concurrency ${concurrency}, ${seconds} s each: gateway ${gwRate.toFixed(0)} calls/s, direct ${directRate.toFixed(0)} calls/s (${((100 * gwRate) / directRate).toFixed(0)}% of direct)`,
    );
    await direct.close();
  } finally {
    await stack.close();
  }
}
