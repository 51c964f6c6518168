import { type RequestStateCodec, Server } from "@modelcontextprotocol/server";
import type { Logger } from "#kit/log/index.js";
import { principalOf } from "../auth/auth-info.js";
import { type ConfirmationState, declaresFormElicitation } from "./confirmation.js";
import { PROTOCOL_VERSIONS } from "./protocol-versions.js";
import type { ToolCatalog } from "./tool-catalog.js";
import type { ToolRunner } from "./tool-runner.js";

export const SERVER_NAME = "support-ext-tickets";

const INSTRUCTIONS =
  "Ticket tools of the support-ext helpdesk. Every call runs as the user whose token made it; " +
  'tools/list shows only what that token may call. Ticket ids are numbers. Errors read "<code>: <message>".';

/**
 * How long a 2026-07-28 client may reuse a list (docs/mcp-server.md, "Revisions"). `tools/list`
 * depends on who asks (scopes and the acting agent's allow-list), so it is `private`: never shared
 * between principals. `server/discover` says the same to everyone.
 */
const CACHE_HINTS = {
  "tools/list": { ttlMs: 60_000, cacheScope: "private" },
  "server/discover": { ttlMs: 300_000, cacheScope: "public" },
} as const;

/**
 * One low-level SDK `Server` per unit of serving: one MCP session (2025 family) or one HTTP request
 * (2026-07-28, and 2025 requests without a session). We use `Server` rather than `McpServer`
 * because McpServer validates arguments before any hook runs: refused and malformed calls would
 * then leave no audit row, and tools/list could not be filtered per token.
 *
 * Errors the SDK reports out of band (`onerror`: a request the transport refused, a response that
 * could not be sent) are logged as warnings; the kit logger scrubs tokens out of their messages.
 */
export function createProtocolServer(deps: {
  catalog: ToolCatalog;
  runTool: ToolRunner;
  version: string;
  logger: Logger;
  /** Signs and checks the `requestState` of a destructive call's question (mcp/confirmation.ts). */
  confirmations: RequestStateCodec<ConfirmationState>;
}): Server {
  const server = new Server(
    { name: SERVER_NAME, title: "support-ext tickets", version: deps.version },
    {
      capabilities: { tools: { listChanged: false } },
      instructions: INSTRUCTIONS,
      supportedProtocolVersions: [...PROTOCOL_VERSIONS],
      cacheHints: CACHE_HINTS,
      // A repeated call's state is checked (signature, expiry, principal) before the handler runs.
      requestState: { verify: (state, ctx) => deps.confirmations.verify(state, ctx) },
    },
  );
  server.setRequestHandler("tools/list", (_request, ctx) => ({
    tools: deps.catalog.listFor(principalOf(ctx.http?.authInfo)),
  }));
  server.setRequestHandler("tools/call", (request, ctx) =>
    deps.runTool(request.params.name, request.params.arguments, {
      authInfo: ctx.http?.authInfo,
      sessionId: ctx.sessionId,
      meta: request.params._meta,
      confirmation: {
        requestState: ctx.mcpReq.requestState(),
        inputResponses: ctx.mcpReq.inputResponses,
        // The request's own envelope on 2026-07-28, the `initialize` declaration on a 2025 session;
        // a 2025 request without a session declared nothing and cannot be asked anything.
        canElicit: declaresFormElicitation(server.getClientCapabilities()),
        mint: (state) => deps.confirmations.mint(state, ctx),
      },
    }),
  );
  server.onerror = (err) => {
    deps.logger.warn({ err }, "MCP protocol error");
  };
  return server;
}
