import * as jose from "jose";
import type { Witnessed } from "#kit/audit/index.js";
import { COUNTERSIGNATURE_TYP, countersignedClaims } from "#kit/audit/index.js";
import type { KeyRing } from "../keys/key-ring.js";

/**
 * The witness's countersignature: a compact JWS (RFC 7515) by the identity service's current
 * signing key, whose payload repeats the checkpoint, the chain (the caller's service id) and when
 * and as which entry it was witnessed. Anyone with the JWKS can check it; its `typ` keeps it from
 * ever being taken for an access token (RFC 8725 §3.11).
 */
export async function countersign(
  keyRing: KeyRing,
  issuer: string,
  chain: string,
  w: Omit<Witnessed, "countersignature">,
): Promise<string> {
  const signer = keyRing.signer();
  const payload = { ...countersignedClaims(issuer, w), chain };
  return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: COUNTERSIGNATURE_TYP })
    .sign(signer.key);
}
