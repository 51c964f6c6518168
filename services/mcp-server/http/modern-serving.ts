import type { IncomingMessage, ServerResponse } from "node:http";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { type AuthInfo, createMcpHandler, type Server } from "@modelcontextprotocol/server";
import type { Logger } from "#kit/log/index.js";

/**
 * MCP 2026-07-28 (docs/mcp-server.md, "Revisions"): stateless, every request carrying its version
 * and capabilities in `_meta`. The SDK's per-request handler answers `server/discover`, checks
 * `Mcp-Method`/`Mcp-Name` against the body and the claimed revision (with the revision's error
 * codes and HTTP statuses), and builds a fresh server for each request. This server's own checks —
 * bearer token, Host/Origin, body size, step-up — ran before; the principal arrives as `authInfo`.
 */
export function createModernServing(deps: { createServer: () => Server; logger: Logger }) {
  const handler = createMcpHandler(() => deps.createServer(), {
    // 2025 traffic never reaches this handler: the endpoint routes it to the sessionful leg.
    legacy: "reject",
    // Rejections are answered to the client; the log keeps them at debug (a client's mistake).
    onerror: (err) => deps.logger.debug({ err: err.message }, "MCP request rejected"),
  });
  const serve = toNodeHandler(handler, {
    onerror: (err) => deps.logger.warn({ err }, "MCP 2026-07-28 request failed"),
  });
  return {
    serve(req: IncomingMessage & { auth: AuthInfo }, res: ServerResponse, body: unknown): Promise<void> {
      return serve(req, res, body);
    },
    close: () => handler.close(),
  };
}
