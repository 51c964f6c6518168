import * as jose from "jose";
import type { Config } from "../config/config.js";
import { AuthError, type AuthFailureReason } from "./auth-error.js";
import type { Principal } from "./principal.js";
import { createRemoteKeySet } from "./remote-key-set.js";
import { VerifiedTokenCache } from "./verified-token-cache.js";

/** Algorithms we sign with (brief §3). Anything else, `none` and HMAC included, is refused. */
export const ALLOWED_ALGORITHMS = ["ES256", "EdDSA"] as const;

export interface TokenVerifierOptions {
  readonly issuer: string;
  /** Accepted audiences; a token must name at least one. */
  readonly audience: string | readonly string[];
  /** Where the keys come from: the issuer's JWKS URL (cached, refetched on unknown `kid`) or a key resolver. */
  readonly keys: URL | jose.JWTVerifyGetKey;
  /** Allowed clock skew for exp/nbf, seconds. */
  readonly clockToleranceSec?: number;
  /** How long a fetched JWKS is trusted. */
  readonly jwksCacheMaxAgeMs?: number;
  /** Minimum gap between refetches (unknown `kid`); after a failed fetch, how long to fail fast. */
  readonly jwksCooldownMs?: number;
  readonly jwksTimeoutMs?: number;
  /** Expected `typ` header; RFC 9068 access tokens use "at+jwt". */
  readonly typ?: string;
  /** How many verified tokens to remember (0 disables the cache). */
  readonly cacheSize?: number;
}

export interface TokenVerifier {
  /** Verifies a compact JWT and returns its principal, or throws AuthError. */
  verify(token: string): Promise<Principal>;
}

/**
 * The one token verifier (brief §3). Signature, algorithm allow-list, `typ`, `iss`, `aud`,
 * `exp`/`nbf` with small leeway, required claims. Tokens that verified once are remembered until
 * they expire, so a token presented on every call of a conversation costs a map lookup.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const keys =
    options.keys instanceof URL
      ? createRemoteKeySet(options.keys, {
          cacheMaxAgeMs: options.jwksCacheMaxAgeMs ?? 600_000,
          cooldownMs: options.jwksCooldownMs ?? 30_000,
          timeoutMs: options.jwksTimeoutMs ?? 5_000,
        })
      : options.keys;
  const tolerance = options.clockToleranceSec ?? 5;
  const audience = typeof options.audience === "string" ? options.audience : [...options.audience];
  const cache = new VerifiedTokenCache(options.cacheSize ?? 10_000);

  async function verifyUncached(token: string): Promise<Principal> {
    const header = decodeHeader(token);
    if (header.alg === "none") throw new AuthError("unsigned_token");
    try {
      const { payload } = await jose.jwtVerify(token, keys, {
        issuer: options.issuer,
        audience,
        algorithms: [...ALLOWED_ALGORITHMS],
        clockTolerance: tolerance,
        typ: options.typ ?? "at+jwt",
        requiredClaims: ["sub", "exp", "iat", "jti"],
      });
      return toPrincipal(payload);
    } catch (err) {
      if (err instanceof AuthError) throw err;
      throw new AuthError(...describeJoseError(err));
    }
  }

  return {
    async verify(token) {
      const nowSec = Date.now() / 1000;
      const hit = cache.get(token, nowSec - tolerance);
      if (hit) return hit;
      const principal = await verifyUncached(token);
      cache.set(token, principal);
      return principal;
    },
  };
}

function decodeHeader(token: string): jose.ProtectedHeaderParameters {
  if (token.split(".").length !== 3) throw new AuthError("malformed");
  try {
    return jose.decodeProtectedHeader(token);
  } catch {
    throw new AuthError("malformed");
  }
}

function describeJoseError(err: unknown): [AuthFailureReason, string?] {
  if (err instanceof jose.errors.JWTExpired) return ["expired"];
  if (err instanceof jose.errors.JWTClaimValidationFailed) {
    if (err.reason === "missing") return ["missing_claim", `the token lacks the "${err.claim}" claim`];
    switch (err.claim) {
      case "nbf":
      case "iat":
        return ["not_yet_valid"];
      case "iss":
        return ["wrong_issuer"];
      case "aud":
        return ["wrong_audience"];
      case "typ":
        return ["wrong_type"];
      default:
        return ["malformed", `the "${err.claim}" claim is invalid`];
    }
  }
  if (err instanceof jose.errors.JOSEAlgNotAllowed) return ["algorithm_not_allowed"];
  if (err instanceof jose.errors.JWSSignatureVerificationFailed) return ["bad_signature"];
  if (err instanceof jose.errors.JWKSNoMatchingKey || err instanceof jose.errors.JWKSMultipleMatchingKeys) {
    return ["unknown_key"];
  }
  if (err instanceof jose.errors.JWSInvalid || err instanceof jose.errors.JWTInvalid) return ["malformed"];
  if (err instanceof jose.errors.JOSENotSupported) return ["algorithm_not_allowed"];
  // Network failures, timeouts and bad JWKS documents: the token may be fine, the keys are not reachable.
  return ["jwks_unavailable"];
}

function stringClaim(payload: jose.JWTPayload, name: string): string {
  const v = payload[name];
  if (typeof v !== "string" || v.length === 0) throw new AuthError("missing_claim", `the token lacks the "${name}" claim`);
  return v;
}

function toPrincipal(payload: jose.JWTPayload): Principal {
  const scope = typeof payload.scope === "string" ? payload.scope : "";
  const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === "string") : [];
  const act = payload.act as { sub?: unknown; agent?: unknown } | undefined;
  return Object.freeze({
    userId: stringClaim(payload, "sub"),
    email: stringClaim(payload, "email"),
    roles: Object.freeze(roles),
    scopes: Object.freeze(scope.split(" ").filter(Boolean)),
    sessionId: stringClaim(payload, "sid"),
    tokenId: stringClaim(payload, "jti"),
    expiresAt: payload.exp as number,
    anonymous: false,
    ...(act && typeof act.sub === "string"
      ? { actor: Object.freeze({ sub: act.sub, ...(typeof act.agent === "string" ? { agent: act.agent } : {}) }) }
      : {}),
  });
}

type VerifierConfig = Pick<
  Config,
  "AUTH_ISSUER" | "API_AUDIENCE" | "AUTH_JWKS_URL" | "CLOCK_TOLERANCE" | "JWKS_CACHE_TTL" | "JWKS_REFETCH_COOLDOWN"
>;

/**
 * The verifier of a service behind the edge, from configuration: tokens of `AUTH_ISSUER`, keys from
 * its JWKS over HTTP, audience `API_AUDIENCE` unless the service names its own (the MCP server:
 * its resource URI).
 */
export function createConfiguredVerifier(config: VerifierConfig, audience: string | string[] = config.API_AUDIENCE): TokenVerifier {
  return createTokenVerifier({
    issuer: config.AUTH_ISSUER,
    audience,
    keys: new URL(config.AUTH_JWKS_URL),
    clockToleranceSec: config.CLOCK_TOLERANCE,
    jwksCacheMaxAgeMs: config.JWKS_CACHE_TTL * 1000,
    jwksCooldownMs: config.JWKS_REFETCH_COOLDOWN * 1000,
  });
}
