import { createServiceTokenVerifier, type ServiceTokenVerifier } from "#kit/auth/index.js";
import type { KeyRing } from "./keys/key-ring.js";
import { rebuiltOnKeyRemoval } from "./keys/rebuilt-on-key-removal.js";

/**
 * The identity service verifies the service tokens addressed to it (the revocation feed's and the
 * audit witness's callers) with its own key ring, like the edge verifier does user tokens — and,
 * like it, starts afresh when a signing key is removed, so the verified-token cache cannot keep a
 * removed key's tokens alive.
 */
export function createOwnServiceVerifier(options: {
  keyRing: KeyRing;
  issuer: string;
  audience: string;
  clockToleranceSec: number;
}): ServiceTokenVerifier {
  return rebuiltOnKeyRemoval(options.keyRing, () =>
    createServiceTokenVerifier({
      issuer: options.issuer,
      audience: options.audience,
      keys: options.keyRing.resolveKey,
      clockToleranceSec: options.clockToleranceSec,
    }),
  );
}
