import * as jose from "jose";
import type { Witnessed } from "#kit/audit/index.js";
import { COUNTERSIGNATURE_TYP, checkpointSignatureProblem, countersignedClaims } from "#kit/audit/index.js";
import { createRemoteKeySet } from "#kit/auth/index.js";

/** Where the identity service's public keys are (its JWKS), and who it is. */
export interface WitnessKeys {
  readonly issuer: string;
  readonly jwks: jose.JWTVerifyGetKey;
}

/** The identity service's keys through the kit's one JWKS client (cache, cooldown, stale-on-failure). */
export function witnessKeys(
  config: { AUTH_ISSUER: string; AUTH_JWKS_URL: string },
  timeoutMs = 5_000,
): WitnessKeys {
  return {
    issuer: config.AUTH_ISSUER,
    jwks: createRemoteKeySet(new URL(config.AUTH_JWKS_URL), {
      cacheMaxAgeMs: 600_000,
      cooldownMs: 30_000,
      timeoutMs,
    }),
  };
}

/**
 * Why `w` is not a checkpoint both the MCP server's key and the witness signed, or undefined when
 * it is. A witness answer is only worth comparing with the table if it is the witness's own and
 * says exactly what the server signed.
 */
export async function witnessedCheckpointProblem(
  w: Witnessed,
  keys: WitnessKeys,
): Promise<string | undefined> {
  const own = checkpointSignatureProblem(w.checkpoint);
  if (own !== undefined) return `the MCP server's signature is not valid: ${own}`;
  let payload: Record<string, unknown>;
  try {
    const verified = await jose.compactVerify(w.countersignature, keys.jwks, {
      algorithms: ["ES256", "EdDSA"],
    });
    if (verified.protectedHeader.typ !== COUNTERSIGNATURE_TYP)
      return `the countersignature's typ is not ${COUNTERSIGNATURE_TYP}`;
    payload = JSON.parse(new TextDecoder().decode(verified.payload)) as Record<string, unknown>;
  } catch (err) {
    return `the witness's countersignature does not verify with its published keys (${err instanceof Error ? err.message : String(err)})`;
  }
  const expected = countersignedClaims(keys.issuer, w);
  const differs = Object.keys(expected).filter((k) => payload[k] !== expected[k]);
  return differs.length === 0
    ? undefined
    : `the countersignature is for another checkpoint (${differs.join(", ")} differ)`;
}
