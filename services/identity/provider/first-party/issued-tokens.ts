import * as jose from "jose";
import type { Provider } from "oidc-provider";
import type { UserRecord } from "../../users/user-store.js";

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

/** The session's end: the grant's (rotated refresh tokens never outlive it). */
export async function grantEnd(provider: Provider, grantId: string): Promise<Date> {
  const grant = await provider.Grant.find(grantId);
  return new Date((grant?.exp ?? 0) * 1000);
}

/** The tokens just issued for a login session, with their times. */
export async function issuedTokens(
  provider: Provider,
  user: UserRecord,
  tokens: { readonly accessToken: string; readonly refreshToken: string; readonly grantId: string },
): Promise<IssuedTokens> {
  const { accessToken, refreshToken, grantId } = tokens;
  // Our own token, just signed: read for its times, not trusted for anything.
  const { iat = 0, exp = 0 } = jose.decodeJwt(accessToken);
  return {
    accessToken,
    accessTokenExpiresAt: exp,
    accessTokenTtlSec: exp - iat,
    refreshToken,
    refreshTokenExpiresAt: await grantEnd(provider, grantId),
    user,
    sessionId: grantId,
  };
}
