import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { AuditService } from "#gen/supportext/audit/v1/audit_pb.js";
import type { Principal } from "#kit/auth/index.js";
import { AUDIT_READ_SCOPE } from "#kit/contract/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { requirePrincipal } from "#kit/propagation/index.js";
import { canReadAudit } from "../auth/scopes.js";
import { queryAuditLog } from "../data/audit-log.js";
import { parseAuditFilter } from "./audit-filter.js";
import { auditEntryToProto, chainReportToProto, outcomeFromProto } from "./audit-proto.js";
import type { WitnessKeys } from "./witness/countersignature-check.js";
import { verifyWithWitness } from "./witness/verify-with-witness.js";
import type { WitnessClient } from "./witness/witness-client.js";

/** How the server reaches the witness and checks its countersignatures. */
export interface AuditWitnessAccess {
  readonly client: WitnessClient;
  readonly keys: WitnessKeys;
}

export const AUDIT_READ_REFUSED = `insufficient_scope: reading the audit trail needs scope "${AUDIT_READ_SCOPE}", or the admin role on a token that is not delegated`;

/** The caller, if they may read the trail (`canReadAudit`); `permission_denied` otherwise. */
function requireAuditReader(ctx: HandlerContext, logger: Logger): Principal {
  const principal = requirePrincipal(ctx);
  if (!canReadAudit(principal)) {
    logger.warn({ procedure: ctx.method.name }, "audit trail read refused");
    throw new ConnectError(AUDIT_READ_REFUSED, Code.PermissionDenied);
  }
  return principal;
}

/**
 * `supportext.audit.v1.AuditService` (proto/supportext/audit/v1/audit.proto): the same filter and
 * rows as `GET /admin/audit`, and the chain verification of `npm run audit -- --verify`, for an
 * administrator's own login token while the server runs.
 */
export function createAuditService(deps: {
  db: Database;
  logger: Logger;
  witness: AuditWitnessAccess;
}): ServiceImpl<typeof AuditService> {
  const { db, logger, witness } = deps;
  return {
    async listAuditEntries(req, ctx) {
      requireAuditReader(ctx, logger);
      const parsed = parseAuditFilter({
        user: req.user,
        since: req.since,
        until: req.until,
        tool: req.tool,
        outcome: outcomeFromProto(req.outcome),
        trace: req.traceId,
        limit: req.limit === 0 ? undefined : String(req.limit),
      });
      if (!parsed.ok) throw new ConnectError(parsed.error, Code.InvalidArgument);
      const entries = await queryAuditLog(db, parsed.query);
      logger.info({ filter: { ...parsed.query }, count: entries.length }, "audit trail read");
      return { entries: entries.map(auditEntryToProto) };
    },

    async verifyAuditChain(req, ctx) {
      requireAuditReader(ctx, logger);
      const report = await verifyWithWitness(db, {
        witness: witness.client,
        keys: witness.keys,
        ...(req.knownHead ? { knownHead: req.knownHead } : {}),
      });
      const fields = {
        chain_rows: report.chainRows,
        problems: report.problemCount,
        head: { seq: report.head.seq, hash: report.head.hash },
        witness: report.witness?.state,
      };
      if (report.problemCount > 0) logger.warn(fields, "audit chain verified: NOT intact");
      else logger.info(fields, "audit chain verified: intact");
      return chainReportToProto(report);
    },
  };
}
