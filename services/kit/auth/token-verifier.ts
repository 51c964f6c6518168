import * as jose from "jose";
import { AuthError, type AuthFailureReason } from "./auth-error.js";
import { type Actor, DEV_ANONYMOUS_PRINCIPAL, type Principal } from "./principal.js";
import { createRemoteKeySet } from "./remote-key-set.js";
import type { ServiceCaller } from "./service-identity.js";
import { VerifiedTokenCache } from "./verified-token-cache.js";

/** Algorithms we sign with (docs/identity.md). Anything else, `none` and HMAC included, is refused. */
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
  /**
   * Keys the issuer removed (the revocation feed's, `RevocationWatcher.isKeyRemoved`): a token
   * naming one is refused before its signature is checked and on every cache hit, so neither a
   * key set fetched before the removal nor a token remembered since counts any more.
   */
  readonly isKeyRemoved?: (kid: string) => boolean;
}

export interface TokenVerifier<T = Principal> {
  /** Verifies a compact JWT and returns what it proves, or throws AuthError. */
  verify(token: string): Promise<T>;
}

/** A verifier of service tokens (client credentials): whose service is calling. */
export type ServiceTokenVerifier = TokenVerifier<ServiceCaller>;

/**
 * The one token verifier (docs/identity.md). Signature, algorithm allow-list, `typ`, `iss`, `aud`,
 * `exp`/`nbf` with small leeway, required claims. Tokens that verified once are remembered until
 * they expire, so a token presented on every call of a conversation costs a map lookup.
 * User and MCP tokens become a `Principal`; service tokens use `createServiceTokenVerifier`.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  return createJwtVerifier(options, ["sub", "exp", "iat", "jti"], toPrincipal);
}

/**
 * Verifies service tokens (docs/architecture.md, "The delegation chain"): the same checks as user
 * tokens, `aud` = this service's id, and `client_id` = `sub`; a user token (no `client_id`) or a
 * token for another service (another `aud`) is refused.
 */
export function createServiceTokenVerifier(options: TokenVerifierOptions): ServiceTokenVerifier {
  return createJwtVerifier(options, ["sub", "exp", "iat", "jti", "client_id"], toServiceCaller);
}

/** A verified token as the cache keeps it: what it proves, and which key signed it. */
interface Verified<T> {
  readonly value: T;
  readonly kid: string;
  readonly expiresAt: number;
}

function createJwtVerifier<T extends { readonly expiresAt: number }>(
  options: TokenVerifierOptions,
  requiredClaims: string[],
  map: (payload: jose.JWTPayload, token: string) => T,
): TokenVerifier<T> {
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
  const cache = new VerifiedTokenCache<Verified<T>>(options.cacheSize ?? 10_000);
  const isKeyRemoved = options.isKeyRemoved ?? (() => false);

  async function verifyUncached(token: string): Promise<Verified<T>> {
    const header = decodeHeader(token);
    if (header.alg === "none") throw new AuthError("unsigned_token");
    // Every token of ours names its key. One that does not would be tried against every key of the
    // set (jose's behaviour), a removed key's included while a JWKS fetched before its removal is held.
    if (typeof header.kid !== "string" || header.kid === "") {
      throw new AuthError("unknown_key", "the token names no signing key (kid)");
    }
    if (isKeyRemoved(header.kid)) throw new AuthError("key_removed");
    try {
      const { payload } = await jose.jwtVerify(token, keys, {
        issuer: options.issuer,
        audience,
        algorithms: [...ALLOWED_ALGORITHMS],
        clockTolerance: tolerance,
        typ: options.typ ?? "at+jwt",
        requiredClaims,
      });
      const value = map(payload, token);
      return { value, kid: header.kid, expiresAt: value.expiresAt };
    } catch (err) {
      if (err instanceof AuthError) throw err;
      throw new AuthError(...describeJoseError(err));
    }
  }

  return {
    async verify(token) {
      const nowSec = Date.now() / 1000;
      const hit = cache.get(token, nowSec - tolerance);
      if (hit) {
        if (!isKeyRemoved(hit.kid)) return hit.value;
        cache.delete(token);
        throw new AuthError("key_removed");
      }
      const verified = await verifyUncached(token);
      cache.set(token, verified);
      return verified.value;
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
  if (typeof v !== "string" || v.length === 0)
    throw new AuthError("missing_claim", `the token lacks the "${name}" claim`);
  return v;
}

function toPrincipal(payload: jose.JWTPayload): Principal {
  const scope = typeof payload.scope === "string" ? payload.scope : "";
  const roles = Array.isArray(payload.roles)
    ? payload.roles.filter((r): r is string => typeof r === "string")
    : [];
  const actor = toActor(payload.act, 0);
  const agentTools = agentToolsOf(payload.authorization_details);
  return Object.freeze({
    userId: stringClaim(payload, "sub"),
    email: stringClaim(payload, "email"),
    roles: Object.freeze(roles),
    scopes: Object.freeze(scope.split(" ").filter(Boolean)),
    sessionId: stringClaim(payload, "sid"),
    tokenId: stringClaim(payload, "jti"),
    expiresAt: payload.exp as number,
    // Only the development exchange (AUTH_DEV_ANONYMOUS, refused in production) issues tokens for
    // the development principal: they stay marked anonymous at every hop that verifies them.
    anonymous: isDevPrincipal(payload),
    ...(actor ? { actor } : {}),
    ...(agentTools ? { agentTools } : {}),
  });
}

function isDevPrincipal(payload: jose.JWTPayload): boolean {
  return payload.sub === DEV_ANONYMOUS_PRINCIPAL.userId && payload.sid === DEV_ANONYMOUS_PRINCIPAL.sessionId;
}

// A delegation chain is a handful of hops; anything deeper is not one of our tokens.
const MAX_ACT_DEPTH = 8;

/** RFC 8693 §4.1 `act`, nested: the current actor outermost. A malformed link is refused, not dropped. */
function toActor(act: unknown, depth: number): Actor | undefined {
  if (act === undefined) return undefined;
  const a = act as { sub?: unknown; agent?: unknown; act?: unknown };
  if (
    depth >= MAX_ACT_DEPTH ||
    typeof act !== "object" ||
    act === null ||
    typeof a.sub !== "string" ||
    a.sub === ""
  ) {
    throw new AuthError("malformed", 'the "act" claim is not a delegation chain');
  }
  if (a.agent !== undefined && typeof a.agent !== "string") {
    throw new AuthError("malformed", 'the "act" claim is not a delegation chain');
  }
  const inner = toActor(a.act, depth + 1);
  return Object.freeze({
    sub: a.sub,
    ...(typeof a.agent === "string" ? { agent: a.agent } : {}),
    ...(inner ? { act: inner } : {}),
  });
}

/** The `agent_tools` entry of RFC 9396 `authorization_details`: the acting agent's allow-list. */
function agentToolsOf(details: unknown): readonly string[] | undefined {
  if (details === undefined) return undefined;
  if (!Array.isArray(details))
    throw new AuthError("malformed", 'the "authorization_details" claim is not a list');
  const entries = details.filter(
    (d) => d && typeof d === "object" && (d as { type?: unknown }).type === "agent_tools",
  );
  if (entries.length === 0) return undefined;
  const tools = (entries[0] as { tools?: unknown }).tools;
  // More than one entry, or one without a list, would make "which tools" ambiguous: refuse.
  if (entries.length > 1 || !Array.isArray(tools) || !tools.every((t) => typeof t === "string")) {
    throw new AuthError("malformed", 'the "agent_tools" authorization details are not a tool list');
  }
  return Object.freeze([...(tools as string[])]);
}

function toServiceCaller(payload: jose.JWTPayload, token: string): ServiceCaller {
  const clientId = stringClaim(payload, "client_id");
  if (payload.sub !== clientId)
    throw new AuthError("malformed", "a service token's sub must be its client_id");
  if (payload.sid !== undefined)
    throw new AuthError("wrong_type", "a user token is not a service credential");
  const agent = payload.agent;
  if (agent !== undefined && (typeof agent !== "string" || agent === "")) {
    throw new AuthError("malformed", 'the "agent" claim is invalid');
  }
  return Object.freeze({
    clientId,
    tokenId: stringClaim(payload, "jti"),
    expiresAt: payload.exp as number,
    token,
    ...(typeof agent === "string" ? { agent } : {}),
  });
}
