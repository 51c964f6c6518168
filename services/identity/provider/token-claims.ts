import { errors } from "oidc-provider";
import type { UserStore } from "../users/user-store.js";
import { EXTENSION_CLIENT_ID } from "./extension-client.js";

/** The parts of an access token oidc-provider hands the JWT customizer. */
interface IssuedToken {
  readonly kind: string;
  readonly accountId?: string;
  readonly clientId?: string;
  readonly grantId?: string;
}

interface StructuredJwt {
  payload: Record<string, unknown>;
}

export interface TokenClaims {
  customize(ctx: unknown, token: IssuedToken, jwt: StructuredJwt): Promise<void>;
}

/**
 * The claims an MCP client's access token carries beyond RFC 9068's (docs/identity.md, "Access
 * tokens"), read from the user as they are now — at every issue, refreshes included: `email`,
 * `roles`, `sid` (the grant: the login session every hop revokes by), `act` naming an MCP client
 * (RFC 8693 §4.1: the client acts for the user; the audit row names it — not our own extension),
 * `nbf`; and `scope` narrowed
 * to what the user still holds. A user who is gone, or holds none of the scopes any more, gets no token.
 */
export function createTokenClaims(users: UserStore): TokenClaims {
  return {
    async customize(_ctx, token, jwt) {
      if (token.kind !== "AccessToken" || !token.accountId) return;
      const user = await users.findById(token.accountId);
      if (!user) throw new errors.InvalidGrant("the user no longer exists");
      const granted = String(jwt.payload.scope ?? "")
        .split(" ")
        .filter((s) => s !== "" && user.scopes.includes(s));
      if (granted.length === 0)
        throw new errors.InvalidGrant("the user no longer holds any of the granted scopes");
      Object.assign(jwt.payload, {
        scope: granted.join(" "),
        email: user.email,
        roles: [...user.roles],
        sid: token.grantId,
        // Our own extension is the user's own hands; any other client acts for the user.
        ...(token.clientId === EXTENSION_CLIENT_ID ? {} : { act: { sub: token.clientId } }),
        nbf: jwt.payload.iat,
      });
    },
  };
}
