import { createHash, hkdfSync } from "node:crypto";
import * as jose from "jose";
import type { Config } from "#kit/config/index.js";
import { CannotStartError } from "#kit/process/index.js";

/**
 * Private signing keys at rest (docs/identity.md, "Signing keys and rotation"): each row's private
 * JWK is stored as a compact JWE (RFC 7516; `dir` + A256GCM, jose) under a key derived from
 * `SIGNING_KEY_SECRET` (HKDF-SHA256, RFC 5869), so a dump, backup or read-only SQL access to the
 * identity database yields no key that can sign. The protected header names the sealing secret
 * (`kid`: a digest of the derived key, never the secret) and the signing key it holds (`signing_kid`,
 * authenticated with the ciphertext): a sealed key copied into another row does not open there.
 * `SIGNING_KEY_SECRET_PREVIOUS` opens keys sealed before the secret was changed; every start
 * reseals them under the current one (`resealSigningKeys`).
 */
export interface KeySealer {
  /** The private JWK sealed for the row of `kid`. */
  seal(kid: string, privateJwk: jose.JWK): Promise<string>;
  /**
   * The private JWK of the row of `kid` from the sealed value it holds, checked to be the private
   * half of the row's `publicJwk`, whose thumbprint is `kid`. Throws CannotStartError, naming the key
   * and the fix, for anything else: a value in clear, sealed with another secret, altered, moved from
   * another row, or not the pair the row publishes.
   */
  open(kid: string, stored: unknown, publicJwk: jose.JWK): Promise<jose.JWK>;
  /** Whether the row holds its key sealed under the current secret (else `resealSigningKeys` does it). */
  isSealedWithCurrent(stored: unknown): boolean;
}

/**
 * Checks that `privateJwk` is an ES256 private key whose public half is the row's `publicJwk`, and
 * that `kid` is that public key's RFC 7638 thumbprint: a row's halves belong together and to its kid,
 * so no one who can write the table can make the service publish, or sign with, a key pair of theirs
 * under a kid it already trusts by changing one column. Throws CannotStartError otherwise.
 */
export async function checkKeyPair(kid: string, privateJwk: unknown, publicJwk: jose.JWK): Promise<jose.JWK> {
  const jwk = privateJwk as jose.JWK;
  const fits =
    typeof privateJwk === "object" &&
    privateJwk !== null &&
    jwk.kty === "EC" &&
    jwk.crv === "P-256" &&
    typeof jwk.d === "string" &&
    jwk.x === publicJwk.x &&
    jwk.y === publicJwk.y &&
    publicJwk.kty === "EC" &&
    publicJwk.crv === "P-256" &&
    (await jose.calculateJwkThumbprint(publicJwk).catch(() => undefined)) === kid;
  if (!fits) {
    throw new CannotStartError(
      `identity cannot start: the row of signing key ${kid} does not hold an ES256 key pair whose public half it publishes under that kid (the table was written to by hand?). Remove the key (npm run rotate-keys -- --remove ${kid}).`,
    );
  }
  return jwk;
}

export type SealingConfig = Pick<Config, "SIGNING_KEY_SECRET" | "SIGNING_KEY_SECRET_PREVIOUS">;

const HKDF_SALT = "support-ext identity";
const HKDF_INFO = "signing keys at rest, dir+A256GCM";

interface SealingKey {
  readonly id: string;
  readonly key: Uint8Array;
}

function sealingKey(secret: string): SealingKey {
  const key = new Uint8Array(hkdfSync("sha256", secret, HKDF_SALT, HKDF_INFO, 32));
  return { id: createHash("sha256").update(key).digest("base64url").slice(0, 16), key };
}

export function keySealerFrom(config: SealingConfig): KeySealer {
  const current = sealingKey(config.SIGNING_KEY_SECRET);
  const byId = new Map<string, SealingKey>([[current.id, current]]);
  if (config.SIGNING_KEY_SECRET_PREVIOUS) {
    const previous = sealingKey(config.SIGNING_KEY_SECRET_PREVIOUS);
    byId.set(previous.id, previous);
  }
  const sealedWith = (stored: unknown): string | undefined => {
    if (typeof stored !== "string") return undefined;
    try {
      const kid = jose.decodeProtectedHeader(stored).kid;
      return typeof kid === "string" ? kid : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    async seal(kid, privateJwk) {
      return new jose.CompactEncrypt(new TextEncoder().encode(JSON.stringify(privateJwk)))
        .setProtectedHeader({ alg: "dir", enc: "A256GCM", kid: current.id, signing_kid: kid })
        .encrypt(current.key);
    },
    async open(kid, stored, publicJwk) {
      if (typeof stored !== "string") {
        // Keys stored in clear before sealing existed are sealed as a start begins (resealSigningKeys).
        throw new CannotStartError(
          `identity cannot start: signing key ${kid} is stored in clear, not sealed (written after this service started?). Restart the identity service to seal it, or remove the key (npm run rotate-keys -- --remove ${kid}).`,
        );
      }
      const key = byId.get(sealedWith(stored) ?? "");
      if (!key) {
        throw new CannotStartError(
          `identity cannot start: signing key ${kid} is sealed with a secret that is neither SIGNING_KEY_SECRET nor SIGNING_KEY_SECRET_PREVIOUS. Set SIGNING_KEY_SECRET (or SIGNING_KEY_SECRET_PREVIOUS) to the secret it was sealed with — replicas sharing a database share one — or remove the key (npm run rotate-keys -- --remove ${kid}).`,
        );
      }
      let opened: jose.CompactDecryptResult;
      try {
        opened = await jose.compactDecrypt(stored, key.key, {
          keyManagementAlgorithms: ["dir"],
          contentEncryptionAlgorithms: ["A256GCM"],
        });
      } catch {
        throw new CannotStartError(
          `identity cannot start: signing key ${kid} does not open with the secret it names (the stored value was altered). Remove the key (npm run rotate-keys -- --remove ${kid}).`,
        );
      }
      if (opened.protectedHeader.signing_kid !== kid) {
        throw new CannotStartError(
          `identity cannot start: the row of signing key ${kid} holds the sealed key of ${String(opened.protectedHeader.signing_kid)}. Remove the key (npm run rotate-keys -- --remove ${kid}).`,
        );
      }
      let sealed: unknown;
      try {
        sealed = JSON.parse(new TextDecoder().decode(opened.plaintext));
      } catch {
        sealed = undefined;
      }
      return checkKeyPair(kid, sealed, publicJwk);
    },
    isSealedWithCurrent: (stored) => sealedWith(stored) === current.id,
  };
}
