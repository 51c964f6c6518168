import { type ProtectedResourceMetadata, sendProtectedResourceMetadata } from "#kit/auth/index.js";
import type { Logger } from "#kit/log/index.js";
import { anyOrigin, type HttpRoutes, routeAnswersCors } from "#kit/server/index.js";
import { forLog } from "./for-log.js";
import type { HostOriginGuard } from "./host-origin-guard.js";
import { observedRoute, type RouteHandler } from "./observed-route.js";
import { RPC, sendJson, sendRpcError } from "./responses.js";

export interface McpRoutesDeps {
  readonly logger: Logger;
  readonly guard: HostOriginGuard;
  /** `/mcp`, `/mcp/` and the resource URI's own path. */
  readonly mcpPaths: Iterable<string>;
  readonly handleMcp: RouteHandler;
  readonly metadataPaths: Iterable<string>;
  readonly metadata: ProtectedResourceMetadata;
  readonly auditPath: string;
  readonly handleAudit: RouteHandler;
}

/**
 * This server's plain-HTTP routes on the kit's port (docs/mcp-server.md): streamable HTTP on
 * `/mcp`, the RFC 9728 metadata, the audit trail. The kit's guard has checked Host; `/mcp` and
 * `/admin/audit` check Origin themselves against the MCP allow-list (so `route-answers`), the
 * metadata is public (`any-origin`).
 */
export function createMcpRoutes(deps: McpRoutesDeps): HttpRoutes {
  const { logger, guard } = deps;
  const mcp = routeAnswersCors(
    observedRoute(
      "/mcp",
      async (req, res, url) => {
        const refusal = guard.checkOrigin(req.headers.origin);
        if (refusal === undefined) return deps.handleMcp(req, res, url);
        logger.warn({ origin: forLog(req.headers.origin) }, "request refused: Origin not allowed");
        sendRpcError(res, 403, RPC.forbidden, refusal);
      },
      logger,
    ),
  );
  const audit = routeAnswersCors(
    observedRoute(
      deps.auditPath,
      async (req, res, url) => {
        const refusal = guard.checkOrigin(req.headers.origin);
        if (refusal === undefined) return deps.handleAudit(req, res, url);
        sendJson(res, 403, { error: "forbidden", error_description: refusal });
      },
      logger,
    ),
  );
  const routes: Record<string, HttpRoutes[string]> = { [deps.auditPath]: audit };
  for (const path of deps.mcpPaths) routes[path] = mcp;
  for (const path of deps.metadataPaths) routes[path] = metadataRoute(path, deps.metadata, logger);
  return routes;
}

function metadataRoute(path: string, metadata: ProtectedResourceMetadata, logger: Logger) {
  return anyOrigin(
    observedRoute(
      path,
      async (req, res, url) => {
        if (req.method === "GET" || req.method === "HEAD") sendProtectedResourceMetadata(res, metadata);
        else sendNotFound(res, url.pathname);
      },
      logger,
    ),
  );
}

/** The answer to a path nothing here serves. */
export function sendNotFound(res: Parameters<typeof sendJson>[0], path: string): void {
  sendJson(res, 404, { error: "not_found", error_description: `no route for ${path}` });
}
