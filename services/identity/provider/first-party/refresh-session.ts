import { requestToken, TokenEndpointError } from "#kit/auth/index.js";
import { outgoingCallHeaders } from "#kit/propagation/index.js";
import { LOGIN_CLIENT_ID } from "../first-party-clients.js";
import { OAUTH_ROUTES } from "../provider-configuration.js";
import type { FirstPartySessionsDeps } from "./first-party-deps.js";
import { type IssuedTokens, issuedTokens } from "./issued-tokens.js";

export type RefreshOutcome =
  | { readonly kind: "rotated"; readonly issued: IssuedTokens }
  /** A spent refresh token came back: two parties hold the session's tokens. */
  | { readonly kind: "reused"; readonly sessionId: string; readonly userId: string }
  /** Unknown (or another client's); past its end; its session ended; its user deleted. */
  | { readonly kind: "refused"; readonly reason: "unknown" | "expired" | "ended" | "user_gone" };

/** A refresh token as stored, spent or not, expired or not. */
export function findRefreshToken(deps: Pick<FirstPartySessionsDeps, "provider">, value: string) {
  return deps.provider().RefreshToken.find(value, { ignoreExpiration: true });
}

/**
 * Rotates a refresh token of AuthService.Login's client at the provider's own token endpoint
 * (rotation, single use, a spent token revoking the grant), after telling apart the refusals
 * AuthService.Refresh answers differently.
 */
export async function refreshSession(
  deps: FirstPartySessionsDeps,
  refreshToken: string,
): Promise<RefreshOutcome> {
  const found = await findRefreshToken(deps, refreshToken);
  // Another client's refresh token is not this one's to rotate (the endpoint would refuse it too).
  if (!found || found.clientId !== LOGIN_CLIENT_ID) return { kind: "refused", reason: "unknown" };
  if (found.consumed) return { kind: "reused", sessionId: found.grantId, userId: found.accountId };
  if (found.isExpired) return { kind: "refused", reason: "expired" };
  if (!(await deps.provider().Grant.find(found.grantId))) return { kind: "refused", reason: "ended" };
  const user = await deps.users.findById(found.accountId);
  if (!user) return { kind: "refused", reason: "user_gone" };

  let answer: Awaited<ReturnType<typeof requestToken>>;
  try {
    answer = await rotateAtTokenEndpoint(deps, refreshToken);
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
    issued: await issuedTokens(deps.provider(), user, {
      accessToken: answer.accessToken,
      refreshToken: answer.refreshToken,
      grantId: found.grantId,
    }),
  };
}

/** The provider's `refresh_token` grant, posted to the identity service's own token endpoint. */
function rotateAtTokenEndpoint(deps: FirstPartySessionsDeps, refreshToken: string) {
  const base = deps.ownUrl();
  if (!base) throw new Error("the identity service is not listening yet");
  return requestToken(
    new URL(OAUTH_ROUTES.token, base).href,
    { clientId: LOGIN_CLIENT_ID },
    new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }),
    { timeoutMs: deps.timeoutMs ?? 10_000, headers: outgoingCallHeaders() },
  );
}
