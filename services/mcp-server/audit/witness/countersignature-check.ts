import * as jose from "jose";
import type { Witnessed } from "#kit/audit/index.js";
import { COUNTERSIGNATURE_TYP, checkpointSignatureProblem, countersignedClaims } from "#kit/audit/index.js";
import type { TrustedKeys } from "#kit/service/index.js";

/**
 * Who the witness is (the identity service, `AUTH_ISSUER`) and its keys as this process trusts them:
 * the server's one key set, less every key the revocation feed reported removed; a command's own.
 */
export interface WitnessKeys {
  readonly issuer: string;
  readonly trusted: TrustedKeys;
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
  const signedBy = countersignatureKeyProblem(w.countersignature, keys.trusted);
  if (signedBy !== undefined) return signedBy;
  let payload: Record<string, unknown>;
  try {
    const verified = await jose.compactVerify(w.countersignature, keys.trusted.resolve, {
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

/**
 * A countersignature must name its key, and not one the issuer removed: whoever holds a removed key
 * could otherwise vouch for a rewritten chain while a cached JWKS still holds that key, as for
 * tokens (docs/architecture.md, "Revocation"). The witness signs every answer with its current key.
 */
function countersignatureKeyProblem(countersignature: string, trusted: TrustedKeys): string | undefined {
  let kid: unknown;
  try {
    kid = jose.decodeProtectedHeader(countersignature).kid;
  } catch {
    return "the witness's countersignature is not a JWS";
  }
  if (typeof kid !== "string" || kid === "") return "the witness's countersignature names no key (kid)";
  if (trusted.isKeyRemoved(kid))
    return `the witness's countersignature is by a signing key the identity service removed (${kid})`;
  return undefined;
}
