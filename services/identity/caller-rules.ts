import { RevocationService } from "../../gen/supportext/auth/v1/revocation_pb.js";
import type { CallerRules } from "../kit/propagation/caller-policy.js";
import { REVOCATION_FEED_CALLERS } from "./revocation-feed/revocation-service.js";

/**
 * Who may call the identity service (docs/architecture.md, "Who may call what"): users, directly,
 * for AuthService, SessionAdminService and UserAdminService (the default rule); every other
 * service, as itself and with no user, for the revocation feed.
 */
export const IDENTITY_CALLER_RULES: CallerRules = {
  [RevocationService.typeName]: { services: REVOCATION_FEED_CALLERS, user: "none" },
};
