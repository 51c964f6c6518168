import type { TokenMinter } from "../tokens/token-minter.js";
import type { UserRecord } from "../users/user-store.js";

/** What a login or a refresh hands out. */
export interface IssuedTokens {
  readonly accessToken: string;
  /** Epoch seconds. */
  readonly accessTokenExpiresAt: number;
  readonly accessTokenTtlSec: number;
  readonly refreshToken: string;
  readonly refreshTokenExpiresAt: Date;
  readonly user: UserRecord;
  readonly sessionId: string;
}

export type IssueTokens = (
  user: UserRecord,
  session: { readonly sessionId: string; readonly refreshToken: string; readonly expiresAt: Date },
) => Promise<IssuedTokens>;

/** Signs an access token for the user's current roles and pairs it with the session's refresh token. */
export function createTokenIssuer(options: {
  minter: TokenMinter;
  audience: string;
  accessTokenTtlSec: number;
}): IssueTokens {
  return async (user, session) => {
    const minted = await options.minter.mint({
      subject: {
        userId: user.id,
        email: user.email,
        roles: user.roles,
        scopes: user.scopes,
        sessionId: session.sessionId,
      },
      audience: options.audience,
      lifetimeSec: options.accessTokenTtlSec,
    });
    return {
      accessToken: minted.token,
      accessTokenExpiresAt: minted.expiresAt,
      accessTokenTtlSec: minted.expiresAt - minted.issuedAt,
      refreshToken: session.refreshToken,
      refreshTokenExpiresAt: session.expiresAt,
      user,
      sessionId: session.sessionId,
    };
  };
}
