import * as http2 from "node:http2";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { McpGatewayService } from "#gen/supportext/mcpgateway/v1/mcp_gateway_pb.js";
import { connectDirect } from "./gateway-direct-client.js";

/**
 * The gateway's floor (docs/performance.md, "Per-call breakdown: gateway"): what the hop costs with
 * the two libraries it is made of and nothing else — connect-node serving `CallTool` over h2c, the
 * MCP SDK v2 client configured as the gateway's (`gateway-direct-client.ts`, with the gateway's own
 * HTTP/2 fetch) forwarding it as `tools/call`. No authentication, no token exchange, no propagation, no telemetry, no log line:
 * the caller's credentials are ignored and one fixed token (`FLOOR_MCP_TOKEN`, exchanged by the
 * bench) is sent. Its own process, so the bench reads its CPU time as it reads the gateway's.
 * `CallTool` only (connect-node answers `unimplemented` for the rest). `FLOOR_PORT`: where it listens; `FLOOR_MCP_URL`: the MCP server.
 */
const mcpUrl = new URL(process.env.FLOOR_MCP_URL ?? "");
const client = await connectDirect(mcpUrl, process.env.FLOOR_MCP_TOKEN ?? "", "auto", "gateway's");

const handler = connectNodeAdapter({
  routes: (router) =>
    router.service(McpGatewayService, {
      async callTool(req) {
        const args = req.argumentsJson ? (JSON.parse(req.argumentsJson) as Record<string, unknown>) : {};
        const result = (await client.callTool({ name: req.name, arguments: args })) as CallToolResult;
        return {
          text: result.content.flatMap((c) => (c.type === "text" ? [c.text] : [])).join("\n"),
          structuredContentJson: result.structuredContent ? JSON.stringify(result.structuredContent) : "",
          isError: result.isError === true,
        };
      },
    }),
});

const server = http2.createServer(handler);
server.listen(Number(process.env.FLOOR_PORT ?? 0), "127.0.0.1");
process.once("SIGTERM", () => {
  void client.close();
  server.close(() => process.exit(0));
});
