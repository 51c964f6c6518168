import { createTokenVerifier, type TokenVerifier } from "#kit/auth/index.js";
import type { KeyRing } from "./keys/key-ring.js";
import { rebuiltOnKeyRemoval } from "./keys/rebuilt-on-key-removal.js";

export interface EdgeVerifierOptions {
  readonly keyRing: KeyRing;
  readonly issuer: string;
  readonly audience: string;
  readonly clockToleranceSec: number;
}

/**
 * The identity service verifies its own tokens with the shared verifier, resolving keys in process
 * from its key ring (no HTTP fetch of its own JWKS).
 *
 * The shared verifier remembers tokens that verified until they expire. That is right everywhere
 * except when a signing key is removed: tokens it signed must stop working at once, cached or not.
 * So when the ring loses a key, the verifier (and its cache) is replaced by a fresh one.
 */
export function createEdgeVerifier(options: EdgeVerifierOptions): TokenVerifier {
  return rebuiltOnKeyRemoval(options.keyRing, () =>
    createTokenVerifier({
      issuer: options.issuer,
      audience: options.audience,
      keys: options.keyRing.resolveKey,
      clockToleranceSec: options.clockToleranceSec,
    }),
  );
}
