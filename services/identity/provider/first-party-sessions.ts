import type { UserRecord } from "../users/user-store.js";
import type { FirstPartySessionsDeps } from "./first-party/first-party-deps.js";
import type { IssuedTokens } from "./first-party/issued-tokens.js";
import { openSession } from "./first-party/open-session.js";
import { findRefreshToken, type RefreshOutcome, refreshSession } from "./first-party/refresh-session.js";

export type { FirstPartySessionsDeps } from "./first-party/first-party-deps.js";
export type { IssuedTokens } from "./first-party/issued-tokens.js";
export type { RefreshOutcome } from "./first-party/refresh-session.js";

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

/**
 * AuthService.Login's sessions, issued by the provider like every other token (docs/identity.md,
 * "One issuer, one grant model"): a login is a provider Grant for LOGIN_CLIENT_ID on the API
 * resource, its refresh token and access token are the provider's models (signed, stored and
 * hashed exactly as an MCP client's), and a refresh is the provider's own `refresh_token` grant at
 * its token endpoint (rotation, single use, a spent token revoking the grant). The grant id is the
 * login session every hop revokes by.
 */
export function createFirstPartySessions(deps: FirstPartySessionsDeps): FirstPartySessions {
  return {
    open: (user) => openSession(deps, user),
    refresh: (refreshToken) => refreshSession(deps, refreshToken),
    async grantOf(refreshToken) {
      const found = await findRefreshToken(deps, refreshToken);
      return found ? { grantId: found.grantId, userId: found.accountId } : undefined;
    },
  };
}
