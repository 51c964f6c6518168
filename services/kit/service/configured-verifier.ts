import type * as jose from "jose";
import { createRemoteKeySet } from "../auth/remote-key-set.js";
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

/** The issuer's JWKS over HTTP, from configuration; share one between a service's verifiers. */
export function createConfiguredKeySet(config: VerifierConfig): jose.JWTVerifyGetKey {
  return createRemoteKeySet(new URL(config.AUTH_JWKS_URL), {
    cacheMaxAgeMs: config.JWKS_CACHE_TTL * 1000,
    cooldownMs: config.JWKS_REFETCH_COOLDOWN * 1000,
    timeoutMs: 5_000,
  });
}

/**
 * The verifier of a service behind the edge, from configuration: tokens of `AUTH_ISSUER`, keys from
 * its JWKS over HTTP (or `keys`, shared with the service's other verifier), audience `API_AUDIENCE`
 * unless the service names its own (the MCP server: its resource URI).
 */
export function createConfiguredVerifier(
  config: VerifierConfig,
  audience: string | string[] = config.API_AUDIENCE,
  keys: jose.JWTVerifyGetKey = createConfiguredKeySet(config),
): TokenVerifier {
  return createTokenVerifier({
    issuer: config.AUTH_ISSUER,
    audience,
    keys,
    clockToleranceSec: config.CLOCK_TOLERANCE,
  });
}

/** The verifier of service tokens addressed to `serviceId`, from configuration. */
export function createConfiguredServiceVerifier(
  config: VerifierConfig,
  serviceId: string,
  keys: jose.JWTVerifyGetKey = createConfiguredKeySet(config),
): ServiceTokenVerifier {
  return createServiceTokenVerifier({
    issuer: config.AUTH_ISSUER,
    audience: serviceId,
    keys,
    clockToleranceSec: config.CLOCK_TOLERANCE,
  });
}
