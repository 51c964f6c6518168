import type { IncomingMessage, ServerResponse } from "node:http";
import {
  AUDIT_READ_SCOPE,
  insufficientScopeChallenge,
  invalidTokenChallenge,
  isOutage,
  missingTokenChallenge,
} from "../../kit/auth/index.js";
import type { Database } from "../../kit/db/index.js";
import type { Logger } from "../../kit/log/index.js";
import { parseAuditFilter } from "../audit/audit-filter.js";
import type { Authenticate } from "../auth/authenticate.js";
import { canReadAudit } from "../auth/scopes.js";
import { queryAuditLog } from "../data/audit-log.js";
import { sendJson } from "./responses.js";

/**
 * `GET /admin/audit?user=…&since=…&until=…&tool=…&outcome=…&trace=…&limit=…`: the audit trail for
 * administrators (scope `audit:read`, or role `admin` on a token that is not delegated: see
 * `canReadAudit`), authenticated like every MCP request.
 */
export function createAuditEndpoint(deps: {
  authenticate: Authenticate;
  db: Database;
  logger: Logger;
  resourceMetadataUrl: string;
}) {
  return async function handleAudit(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== "GET") {
      sendJson(res, 405, { error: "method_not_allowed" }, { allow: "GET" });
      return;
    }
    const auth = await deps.authenticate(req.headers.authorization);
    if (!auth.ok) {
      const missing = auth.reason === "missing_token";
      // As on /mcp: unreachable keys are the issuer's outage, not a bad token (no invalid_token
      // challenge, which would send a client to get a new one for nothing).
      const unavailable = isOutage(auth.reason);
      sendJson(
        res,
        unavailable ? 503 : 401,
        {
          error: missing ? "unauthorized" : unavailable ? "temporarily_unavailable" : "invalid_token",
          error_description: auth.description,
          reason: auth.reason,
        },
        unavailable
          ? { "retry-after": "5" }
          : {
              "www-authenticate": missing
                ? missingTokenChallenge(deps.resourceMetadataUrl)
                : invalidTokenChallenge(auth.description, deps.resourceMetadataUrl),
            },
      );
      return;
    }
    if (!canReadAudit(auth.principal)) {
      const message = `reading the audit trail needs scope "${AUDIT_READ_SCOPE}", or the admin role on a token that is not delegated`;
      deps.logger.warn({ path: url.pathname }, "audit trail read refused");
      sendJson(
        res,
        403,
        { error: "insufficient_scope", error_description: message, scope: AUDIT_READ_SCOPE },
        {
          "www-authenticate": insufficientScopeChallenge(AUDIT_READ_SCOPE, message, deps.resourceMetadataUrl),
        },
      );
      return;
    }
    const p = url.searchParams;
    const parsed = parseAuditFilter({
      user: p.get("user") ?? undefined,
      since: p.get("since") ?? undefined,
      until: p.get("until") ?? undefined,
      tool: p.get("tool") ?? undefined,
      outcome: p.get("outcome") ?? undefined,
      trace: p.get("trace") ?? undefined,
      limit: p.get("limit") ?? undefined,
    });
    if (!parsed.ok) {
      sendJson(res, 400, { error: "invalid_request", error_description: parsed.error });
      return;
    }
    const entries = await queryAuditLog(deps.db, parsed.query);
    // Reading the trail is itself worth a trace in the log.
    deps.logger.info({ filter: { ...parsed.query }, count: entries.length }, "audit trail read");
    sendJson(res, 200, { count: entries.length, entries });
  };
}
