import { AuthError, type AuthFailureReason } from "./auth-error.js";
import { parseBearer } from "./bearer.js";
import { invalidTokenChallenge, missingTokenChallenge } from "./challenge.js";
import { DEV_ANONYMOUS_PRINCIPAL, type Principal } from "./principal.js";
import type { TokenVerifier } from "./token-verifier.js";

/**
 * The one bearer-authentication core (parse → verify → revocation → outcome), shared by the
 * Connect authentication gate and the plain-HTTP routes (the MCP endpoint, the audit endpoint), so
 * every door decides the same way and only the shape of the refusal differs per protocol.
 */
export interface BearerAuthOptions {
  readonly verifier: TokenVerifier;
  /** Refuses tokens of ended login sessions (an in-memory lookup: never a round trip per call). */
  readonly isRevoked?: (principal: Principal) => boolean;
  /**
   * Throws while this process cannot know about revocations (the feed is down beyond its bound):
   * failing closed is a decision of the revocation watcher, applied to every user token here.
   */
  readonly assertRevocationKnown?: () => void;
  /** No token at all → the read-only development principal (AUTH_DEV_ANONYMOUS). */
  readonly devAnonymous?: boolean;
}

export type BearerOutcome =
  | { readonly ok: true; readonly principal: Principal; readonly token: string | undefined }
  | { readonly ok: false; readonly error: AuthError };

/** Authenticates one `Authorization` header value; `undefined` header = no token presented. */
export async function authenticateBearer(
  authorization: string | null | undefined,
  options: BearerAuthOptions,
): Promise<BearerOutcome> {
  try {
    const token = parseBearer(authorization);
    if (token === undefined) {
      if (options.devAnonymous) return { ok: true, principal: DEV_ANONYMOUS_PRINCIPAL, token: undefined };
      throw new AuthError("missing_token");
    }
    const principal = await options.verifier.verify(token);
    options.assertRevocationKnown?.();
    if (options.isRevoked?.(principal)) throw new AuthError("revoked");
    return { ok: true, principal, token };
  } catch (err) {
    if (err instanceof AuthError) return { ok: false, error: err };
    throw err;
  }
}

/** Failures that are the issuer's outage, not the caller's credential: `unavailable` / 503, no invalid_token challenge. */
export function isOutage(reason: AuthFailureReason): boolean {
  return reason === "jwks_unavailable" || reason === "revocation_unknown";
}

/** RFC 6750 §3 challenge for a refusal (`resourceMetadata`: RFC 9728 pointer, on the MCP server). */
export function bearerChallenge(error: AuthError, resourceMetadata?: string): string {
  return error.reason === "missing_token"
    ? missingTokenChallenge(resourceMetadata)
    : invalidTokenChallenge(error.message, resourceMetadata);
}
