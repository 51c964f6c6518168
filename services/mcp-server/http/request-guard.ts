import type { Logger } from "#kit/log/index.js";
import type { HttpRequest, HttpResponse, RequestGuard } from "#kit/server/index.js";
import { requestPath } from "#kit/server/index.js";
import { forLog } from "./for-log.js";
import type { HostOriginGuard } from "./host-origin-guard.js";
import { RPC, sendJson, sendRpcError } from "./responses.js";

// `/<package>.<Service>/<Method>`: a Connect, gRPC or gRPC-Web call (AuditService, reflection).
const PROCEDURE_PATH = /^\/[A-Za-z_][\w.]*\.[A-Za-z_]\w*\/[A-Za-z_]\w*$/;

/** The Host a request names: the `Host` header on HTTP/1.1, `:authority` on HTTP/2 (RFC 9113 §8.3.1). */
export function requestHost(req: HttpRequest): string | undefined {
  const host = req.headers.host ?? req.headers[":authority"];
  return Array.isArray(host) ? host[0] : host;
}

/**
 * The kit server's guard for this port: every request but the kit's probes must name an allowed
 * Host (DNS rebinding, docs/mcp-server.md). Refused 403 in the shape the caller speaks: a JSON-RPC
 * error on the MCP routes, a Connect error on the procedures. Origin is each route's own check
 * (`/mcp`, `/admin/audit`) or CORS (the procedures, as on every service).
 */
export function createMcpRequestGuard(guard: HostOriginGuard, logger: Logger): RequestGuard {
  return (req: HttpRequest, res: HttpResponse) => {
    const host = requestHost(req);
    const refusal = guard.checkHost(host);
    if (refusal === undefined) return false;
    const path = requestPath(req);
    logger.warn({ host: forLog(host), path: forLog(path) }, "request refused: Host not allowed");
    if (PROCEDURE_PATH.test(path)) sendJson(res, 403, { code: "permission_denied", message: refusal });
    else sendRpcError(res, 403, RPC.forbidden, refusal);
    return true;
  };
}
