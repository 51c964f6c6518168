import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { SessionAdminService } from "#gen/supportext/auth/v1/session_admin_pb.js";
import type { Logger } from "#kit/log/index.js";
import { requirePrincipal } from "#kit/propagation/index.js";
import type { RevokeSession } from "./session-revoker.js";
import type { SessionStore } from "./session-store.js";

/** The role that may end other people's login sessions. */
export const SESSION_ADMIN_ROLE = "admin";

export interface SessionAdminDeps {
  readonly sessions: SessionStore;
  readonly revoke: RevokeSession;
  readonly logger: Logger;
}

/**
 * `supportext.auth.v1.SessionAdminService`: an administrator revokes a login session with their own
 * access token (the verified principal's roles, never a claim of the request). The revocation goes
 * the same way as a logout: memory, database + NOTIFY, the feed.
 */
export function registerSessionAdminService(router: ConnectRouter, deps: SessionAdminDeps): void {
  router.service(SessionAdminService, {
    async revokeSession(req, ctx) {
      const admin = requirePrincipal(ctx);
      if (admin.anonymous || !admin.roles.includes(SESSION_ADMIN_ROLE)) {
        throw new ConnectError("revoking a login session needs the admin role", Code.PermissionDenied);
      }
      if (req.sessionId === "") throw new ConnectError("session_id is required", Code.InvalidArgument);
      // Looked up first: an unknown id would otherwise be announced to every verifier for nothing.
      const session = await deps.sessions.find(req.sessionId);
      if (!session) throw new ConnectError("no such login session", Code.NotFound);
      if (session.revokedAt) return { revoked: false, userId: session.userId };
      await deps.revoke(session.sessionId, "admin");
      deps.logger.warn(
        { admin_id: admin.userId, session_id: session.sessionId, session_user_id: session.userId },
        "login session revoked by an administrator",
      );
      return { revoked: true, userId: session.userId };
    },
  });
}
