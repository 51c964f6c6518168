import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../../kit/log/logger.js";
import { principalOf } from "../auth/auth-info.js";
import type { ToolCatalog } from "./tool-catalog.js";
import type { ToolRunner } from "./tool-runner.js";

export const SERVER_NAME = "support-ext-tickets";

const INSTRUCTIONS =
  "Ticket tools of the support-ext helpdesk. Every call runs as the user whose token made it; " +
  'tools/list shows only what that token may call. Ticket ids are numbers. Errors read "<code>: <message>".';

/**
 * One low-level SDK `Server` per MCP session (the SDK binds a server to one transport). We use
 * `Server` rather than `McpServer` because McpServer validates arguments before any hook runs:
 * refused and malformed calls would then leave no audit row, and tools/list could not be filtered
 * per token.
 *
 * Errors the SDK reports out of band (`onerror`: a request the transport refused, a response that
 * could not be sent, a handler that threw outside a request) are logged as warnings; the kit logger
 * scrubs tokens out of their messages.
 */
export function createProtocolServer(deps: {
  catalog: ToolCatalog;
  runTool: ToolRunner;
  version: string;
  logger: Logger;
}): Server {
  const server = new Server(
    { name: SERVER_NAME, title: "support-ext tickets", version: deps.version },
    { capabilities: { tools: { listChanged: false } }, instructions: INSTRUCTIONS },
  );
  server.setRequestHandler(ListToolsRequestSchema, (_request, extra) => ({
    tools: deps.catalog.listFor(principalOf(extra)),
  }));
  server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    deps.runTool(request.params.name, request.params.arguments, extra),
  );
  server.onerror = (err) => {
    deps.logger.warn({ err }, "MCP protocol error");
  };
  return server;
}
