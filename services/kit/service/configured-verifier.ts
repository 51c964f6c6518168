import type * as jose from "jose";
import { createRemoteKeySet } from "../auth/remote-key-set.js";
import type { RemovedKeys } from "../auth/removed-keys.js";
import {
  createServiceTokenVerifier,
  createTokenVerifier,
  type ServiceTokenVerifier,
  type TokenVerifier,
} from "../auth/token-verifier.js";
import type { Config } from "../config/config.js";

type VerifierConfig = Pick<
  Config,
  | "AUTH_ISSUER"
  | "API_AUDIENCE"
  | "AUTH_JWKS_URL"
  | "CLOCK_TOLERANCE"
  | "JWKS_CACHE_TTL"
  | "JWKS_REFETCH_COOLDOWN"
>;

/**
 * The issuer's signing keys as a service trusts them: its JWKS over HTTP, less every key the
 * revocation feed reported removed (docs/architecture.md, "Revocation"). One per service, shared by
 * its verifiers.
 */
export interface TrustedKeys {
  readonly resolve: jose.JWTVerifyGetKey;
  readonly isKeyRemoved: (kid: string) => boolean;
}

/**
 * The issuer's JWKS over HTTP, from configuration, and the process's removed keys (the feed's): a
 * removal heard also lets the next unknown `kid` refetch the JWKS at once (the key added to replace it).
 * `timeoutMs` bounds each fetch of the JWKS: a service's 5 s, an operator's command may wait longer.
 */
export function createConfiguredKeySet(
  config: Pick<VerifierConfig, "AUTH_JWKS_URL" | "JWKS_CACHE_TTL" | "JWKS_REFETCH_COOLDOWN">,
  removedKeys: Pick<RemovedKeys, "has" | "size">,
  timeoutMs = 5_000,
): TrustedKeys {
  return {
    resolve: createRemoteKeySet(new URL(config.AUTH_JWKS_URL), {
      cacheMaxAgeMs: config.JWKS_CACHE_TTL * 1000,
      cooldownMs: config.JWKS_REFETCH_COOLDOWN * 1000,
      timeoutMs,
      keyChanges: () => removedKeys.size,
    }),
    isKeyRemoved: (kid) => removedKeys.has(kid),
  };
}

/**
 * The verifier of a service behind the edge, from configuration: tokens of `AUTH_ISSUER` signed by
 * one of `keys`, audience `API_AUDIENCE` unless the service names its own (the MCP server: its
 * resource URI).
 */
export function createConfiguredVerifier(
  config: VerifierConfig,
  keys: TrustedKeys,
  audience: string | string[] = config.API_AUDIENCE,
): TokenVerifier {
  return createTokenVerifier({
    issuer: config.AUTH_ISSUER,
    audience,
    keys: keys.resolve,
    isKeyRemoved: keys.isKeyRemoved,
    clockToleranceSec: config.CLOCK_TOLERANCE,
  });
}

/** The verifier of service tokens addressed to `serviceId`, from configuration. */
export function createConfiguredServiceVerifier(
  config: VerifierConfig,
  keys: TrustedKeys,
  serviceId: string,
): ServiceTokenVerifier {
  return createServiceTokenVerifier({
    issuer: config.AUTH_ISSUER,
    audience: serviceId,
    keys: keys.resolve,
    isKeyRemoved: keys.isKeyRemoved,
    clockToleranceSec: config.CLOCK_TOLERANCE,
  });
}
