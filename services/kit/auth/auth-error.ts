/**
 * Why a credential was refused, as a stable machine-readable code (logged, returned to callers
 * as the error message's prefix, and asserted on by tests).
 */
export type AuthFailureReason =
  | "missing_token"
  | "malformed"
  | "unsigned_token"
  | "algorithm_not_allowed"
  | "bad_signature"
  | "unknown_key"
  | "key_removed"
  | "expired"
  | "not_yet_valid"
  | "wrong_issuer"
  | "wrong_audience"
  | "wrong_type"
  | "missing_claim"
  | "revoked"
  | "jwks_unavailable"
  | "revocation_unknown";

const DESCRIPTIONS: Record<AuthFailureReason, string> = {
  missing_token: "no bearer token was presented",
  malformed: "the token is not a well-formed JWT",
  unsigned_token: "unsigned tokens (alg none) are not accepted",
  algorithm_not_allowed: "the token's signing algorithm is not allowed",
  bad_signature: "the token's signature does not verify",
  unknown_key: "the token was signed by an unknown key",
  key_removed: "the token was signed by a key the issuer has removed",
  expired: "the token has expired",
  not_yet_valid: "the token is not valid yet",
  wrong_issuer: "the token was issued by an untrusted issuer",
  wrong_audience: "the token was not issued for this audience",
  wrong_type: "the token is not an access token",
  missing_claim: "the token lacks a required claim",
  revoked: "the token's login session has been revoked",
  jwks_unavailable: "the issuer's signing keys could not be fetched",
  revocation_unknown: "revocation feed unavailable: login sessions cannot be checked",
};

/** A refused credential. The message never contains the token itself. */
export class AuthError extends Error {
  override readonly name = "AuthError";
  constructor(
    readonly reason: AuthFailureReason,
    detail?: string,
  ) {
    super(`${reason}: ${detail ?? DESCRIPTIONS[reason]}`);
  }
}
