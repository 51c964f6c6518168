import * as jose from "jose";
import type { Provider } from "oidc-provider";
import { requestToken, TokenEndpointError } from "../../kit/auth/index.js";
import { outgoingCallHeaders } from "../../kit/propagation/index.js";
import type { SessionStore } from "../sessions/session-store.js";
import type { UserRecord, UserStore } from "../users/user-store.js";
import { LOGIN_CLIENT_ID } from "./first-party-clients.js";
import { OAUTH_ROUTES } from "./provider-configuration.js";
import type { ResourceServers } from "./resource-servers.js";

/** What AuthService.Login and Refresh hand out. */
export interface IssuedTokens {
  readonly accessToken: string;
  /** Epoch seconds. */
  readonly accessTokenExpiresAt: number;
  readonly accessTokenTtlSec: number;
  readonly refreshToken: string;
  /** When the login session (the grant, and so every refresh token of it) ends. */
  readonly refreshTokenExpiresAt: Date;
  readonly user: UserRecord;
  readonly sessionId: string;
}

export type RefreshOutcome =
  | { readonly kind: "rotated"; readonly issued: IssuedTokens }
  /** A spent refresh token came back: two parties hold the session's tokens. */
  | { readonly kind: "reused"; readonly sessionId: string; readonly userId: string }
  /** Unknown (or another client's); past its end; its session ended; its user deleted. */
  | { readonly kind: "refused"; readonly reason: "unknown" | "expired" | "ended" | "user_gone" };

/** The grant a refresh token (spent or not, expired or not) belongs to. */
export interface GrantOfToken {
  readonly grantId: string;
  readonly userId: string;
}

export interface FirstPartySessions {
  /** A new login session for a user whose password was just checked: a grant and its tokens. */
  open(user: UserRecord): Promise<IssuedTokens>;
  /** Rotates a refresh token of AuthService.Login's client at the provider's token endpoint. */
  refresh(refreshToken: string): Promise<RefreshOutcome>;
  grantOf(refreshToken: string): Promise<GrantOfToken | undefined>;
}

export interface FirstPartySessionsDeps {
  /** The provider as it is now (it is rebuilt when the signing keys change). */
  readonly provider: () => Provider;
  readonly resources: ResourceServers;
  readonly sessions: SessionStore;
  readonly users: UserStore;
  /** The identity service's own address, once it listens (the token endpoint is on it). */
  readonly ownUrl: () => string | undefined;
  readonly timeoutMs?: number;
}

/** The `gty` of a grant made by AuthService.Login (the provider appends " refresh_token" on rotation). */
const LOGIN_GRANT_TYPE = "password";

/**
 * AuthService.Login's sessions, issued by the provider like every other token (docs/identity.md,
 * "One issuer, one grant model"): a login is a provider Grant for LOGIN_CLIENT_ID on the API
 * resource, its refresh token and access token are the provider's models (signed, stored and
 * hashed exactly as an MCP client's), and a refresh is the provider's own `refresh_token` grant at
 * its token endpoint (rotation, single use, a spent token revoking the grant). The grant id is the
 * login session every hop revokes by.
 */
export function createFirstPartySessions(deps: FirstPartySessionsDeps): FirstPartySessions {
  const resource = () => deps.resources.resourceFor(LOGIN_CLIENT_ID);

  const findRefreshToken = (value: string) =>
    deps.provider().RefreshToken.find(value, { ignoreExpiration: true });

  /** The session's end: the grant's (rotated refresh tokens never outlive it). */
  const grantEnd = async (grantId: string): Promise<Date> => {
    const grant = await deps.provider().Grant.find(grantId);
    return new Date((grant?.exp ?? 0) * 1000);
  };

  const issued = async (
    user: UserRecord,
    accessToken: string,
    refreshToken: string,
    grantId: string,
  ): Promise<IssuedTokens> => {
    // Our own token, just signed: read for its times, not trusted for anything.
    const { iat = 0, exp = 0 } = jose.decodeJwt(accessToken);
    return {
      accessToken,
      accessTokenExpiresAt: exp,
      accessTokenTtlSec: exp - iat,
      refreshToken,
      refreshTokenExpiresAt: await grantEnd(grantId),
      user,
      sessionId: grantId,
    };
  };

  return {
    async open(user) {
      const provider = deps.provider();
      const client = await provider.Client.find(LOGIN_CLIENT_ID);
      if (!client) throw new Error(`the provider has no client ${LOGIN_CLIENT_ID}`);
      const scope = user.scopes.join(" ");
      const grant = new provider.Grant({ accountId: user.id, clientId: LOGIN_CLIENT_ID });
      grant.addResourceScope(resource(), scope);
      const grantId = await grant.save();
      const ends = await grantEnd(grantId);
      await deps.sessions.openForGrant(grantId, user.id, ends);
      const bound = { accountId: user.id, client, grantId, gty: LOGIN_GRANT_TYPE, scope };
      const refreshToken = await new provider.RefreshToken({ ...bound, resource: resource() }).save();
      const accessToken = await new provider.AccessToken({
        ...bound,
        resourceServer: new provider.ResourceServer(resource(), deps.resources.info(resource())),
      }).save();
      return issued(user, accessToken, refreshToken, grantId);
    },

    async refresh(refreshToken) {
      const found = await findRefreshToken(refreshToken);
      // Another client's refresh token is not this one's to rotate (the endpoint would refuse it too).
      if (!found || found.clientId !== LOGIN_CLIENT_ID) return { kind: "refused", reason: "unknown" };
      if (found.consumed) return { kind: "reused", sessionId: found.grantId, userId: found.accountId };
      if (found.isExpired) return { kind: "refused", reason: "expired" };
      if (!(await deps.provider().Grant.find(found.grantId))) return { kind: "refused", reason: "ended" };
      const user = await deps.users.findById(found.accountId);
      if (!user) return { kind: "refused", reason: "user_gone" };

      const base = deps.ownUrl();
      if (!base) throw new Error("the identity service is not listening yet");
      let answer: Awaited<ReturnType<typeof requestToken>>;
      try {
        answer = await requestToken(
          new URL(OAUTH_ROUTES.token, base).href,
          { clientId: LOGIN_CLIENT_ID },
          new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }),
          { timeoutMs: deps.timeoutMs ?? 10_000, headers: outgoingCallHeaders() },
        );
      } catch (err) {
        // Found unspent a moment ago and refused now: a concurrent use of the same token won.
        if (err instanceof TokenEndpointError && err.error === "invalid_grant") {
          return { kind: "reused", sessionId: found.grantId, userId: found.accountId };
        }
        throw err;
      }
      if (!answer.refreshToken) throw new Error("the token endpoint rotated no refresh token");
      return {
        kind: "rotated",
        issued: await issued(user, answer.accessToken, answer.refreshToken, found.grantId),
      };
    },

    async grantOf(refreshToken) {
      const found = await findRefreshToken(refreshToken);
      return found ? { grantId: found.grantId, userId: found.accountId } : undefined;
    },
  };
}
