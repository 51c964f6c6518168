import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { NodeStreamableHTTPServerTransport } from "@modelcontextprotocol/node";
import { type AuthInfo, isInitializeRequest, type Server } from "@modelcontextprotocol/server";
import type { Principal } from "#kit/auth/index.js";
import type { Logger } from "#kit/log/index.js";
import { declaresFormElicitation } from "../mcp/confirmation.js";
import { type McpSession, ownerKey, type SessionRegistry } from "../session/session-registry.js";
import { RPC, sendRpcError } from "./responses.js";

export interface LegacyServingDeps {
  readonly sessions: SessionRegistry;
  readonly createServer: () => Server;
  readonly logger: Logger;
}

/**
 * The 2025 family (docs/mcp-server.md, "Revisions"): `initialize` opens a session bound to the
 * principal that sent it; a request inside a session goes to that session's transport (ownership
 * was checked by the caller); a request without a session and not an `initialize` is served
 * statelessly by a fresh server and transport that live for that request only.
 */
export function createLegacyServing(deps: LegacyServingDeps) {
  const { sessions, logger } = deps;

  return async function serveLegacy(
    req: IncomingMessage & { auth: AuthInfo },
    res: ServerResponse,
    body: unknown,
    principal: Principal,
    session: McpSession | undefined,
  ): Promise<void> {
    if (session) {
      await session.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method !== "POST") {
      sendRpcError(res, 400, RPC.serverError, "Bad Request: Mcp-Session-Id header is required");
      return;
    }

    if (isInitializeRequest(body)) {
      const server = deps.createServer();
      const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        // A 2025 server asks its client (elicitation/create; docs/mcp-server.md, "Confirmation
        // before destruction") on the stream of the request it belongs to, which a JSON answer
        // does not have: a session whose client can answer elicitations gets SSE answers, every
        // other session JSON.
        enableJsonResponse: !declaresFormElicitation(body.params.capabilities),
        onsessioninitialized: (id) => {
          sessions.add({
            id,
            transport,
            server,
            owner: ownerKey(principal),
            userId: principal.userId,
            loginSession: principal.sessionId,
            lastSeen: Date.now(),
          });
          logger.info({ session_id: id }, "MCP session opened");
        },
        onsessionclosed: (id) => {
          sessions.remove(id);
          logger.info({ session_id: id }, "MCP session closed by the client");
        },
      });
      server.onclose = () => {
        if (transport.sessionId) sessions.remove(transport.sessionId);
      };
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      if (transport.sessionId === undefined) await server.close();
      return;
    }

    const server = deps.createServer();
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    res.on("close", () => void server.close());
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };
}
