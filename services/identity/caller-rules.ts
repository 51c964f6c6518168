import { AuditWitnessService } from "#gen/supportext/audit/v1/witness_pb.js";
import { RevocationService } from "#gen/supportext/auth/v1/revocation_pb.js";
import type { CallerRules } from "#kit/propagation/index.js";
import { AUDIT_WITNESS_CALLERS } from "./audit-witness/witness-service.js";
import { REVOCATION_FEED_CALLERS } from "./revocation-feed/revocation-service.js";

/**
 * Who may call the identity service (docs/architecture.md, "Who may call what"): users, directly,
 * for AuthService, SessionAdminService and UserAdminService (the default rule); every other
 * service, as itself and with no user, for the revocation feed; the MCP server alone, as itself,
 * for the audit witness.
 */
export const IDENTITY_CALLER_RULES: CallerRules = {
  [RevocationService.typeName]: { services: REVOCATION_FEED_CALLERS, user: "none" },
  [AuditWitnessService.typeName]: { services: AUDIT_WITNESS_CALLERS, user: "none" },
};
