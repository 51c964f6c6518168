import { AuthError, type Principal, type TokenVerifier } from "#kit/auth/index.js";
import { OAuthError } from "../http/oauth-response.js";

/**
 * The subject token verified like any call at the edge (signature, issuer, aud = API audience,
 * expiry, revoked session); only a user's token, never an exchanged one.
 */
export async function verifySubjectToken(
  token: string,
  verifier: TokenVerifier,
  isRevoked: (principal: Principal) => boolean,
): Promise<Principal> {
  let principal: Principal;
  try {
    principal = await verifier.verify(token);
  } catch (err) {
    // AuthError messages start with a stable reason and never contain the token.
    if (err instanceof AuthError) throw new OAuthError(400, "invalid_grant", `subject_token: ${err.message}`);
    throw err;
  }
  if (isRevoked(principal)) {
    throw new OAuthError(400, "invalid_grant", "subject_token: the login session has been revoked");
  }
  // Only user tokens are exchanged; an exchanged token (which has `act`) can't be re-exchanged.
  if (principal.actor)
    throw new OAuthError(400, "invalid_grant", "subject_token is already an exchanged token");
  return principal;
}
