import { RevocationService } from "../../gen/supportext/auth/v1/revocation_pb.js";
import type { CallerRules } from "../kit/propagation/caller-policy.js";
import { REVOCATION_FEED_CALLERS } from "../identity/revocation-feed/revocation-service.js";

/**
 * Who may call chat (docs/architecture.md, "Who may call what"): users, directly, for
 * AuthService, ChatService and SessionAdminService (the edge: the default rule); the verifiers
 * behind the edge, as themselves and with no user, for the revocation feed.
 */
export const CHAT_CALLER_RULES: CallerRules = {
  [RevocationService.typeName]: { services: REVOCATION_FEED_CALLERS, user: "none" },
};
