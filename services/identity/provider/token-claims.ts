import { errors } from "oidc-provider";
import type { UserStore } from "../users/user-store.js";
import { isFirstParty } from "./first-party-clients.js";

/** The parts of a token oidc-provider hands the JWT customizer. */
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
 * The claims every access token carries beyond RFC 9068's (docs/identity.md, "Access tokens").
 * Every token gets `nbf` (= `iat`). A user's token — a first-party login, an MCP client's, an
 * exchanged one — is read from the user as they are now, at every issue, refreshes included:
 * `email`, `roles`, `sid` (the grant: the login session every hop revokes by), `scope` narrowed to
 * what the user still holds, and `act` (RFC 8693 §4.1) naming the client that acts for the user
 * unless the grant handler already set the whole chain (the exchange) or the client is our own
 * (the user's own hands). A user who is gone, or holds none of the scopes any more, gets no token.
 * A service token (client credentials) has no user: it gets `nbf` and nothing else here.
 */
export function createTokenClaims(users: UserStore): TokenClaims {
  return {
    async customize(_ctx, token, jwt) {
      jwt.payload.nbf = jwt.payload.iat;
      if (token.kind !== "AccessToken" || !token.accountId) return;
      const user = await users.findById(token.accountId);
      if (!user) throw new errors.InvalidGrant("the user no longer exists");
      const granted = String(jwt.payload.scope ?? "")
        .split(" ")
        .filter((s) => s !== "" && user.scopes.includes(s));
      if (granted.length === 0)
        throw new errors.InvalidGrant("the user no longer holds any of the granted scopes");
      const actsForUser = jwt.payload.act === undefined && !isFirstParty(token.clientId);
      Object.assign(jwt.payload, {
        scope: granted.join(" "),
        email: user.email,
        roles: [...user.roles],
        sid: token.grantId,
        ...(actsForUser ? { act: { sub: token.clientId } } : {}),
      });
    },
  };
}
