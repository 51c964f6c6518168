import type { IncomingMessage, ServerResponse } from "node:http";
import { insufficientScopeChallenge } from "#kit/auth/index.js";
import { AUDIT_READ_SCOPE } from "#kit/contract/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { parseAuditFilter } from "../audit/audit-filter.js";
import type { Authenticate } from "../auth/authenticate.js";
import { canReadAudit } from "../auth/scopes.js";
import { queryAuditLog } from "../data/audit-log.js";
import { sendAuthRefusal } from "./auth-refusal.js";
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
      sendAuthRefusal(res, auth, deps.resourceMetadataUrl);
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
