import type { TokenVerifier } from "#kit/auth/index.js";
import type { KeyRing } from "./key-ring.js";

/**
 * A verifier of the identity service's own tokens, built afresh whenever the ring loses a key: the
 * kit's verifier remembers tokens that verified until they expire, which is right everywhere
 * except when a signing key is removed — its tokens must stop working at once, cached or not.
 */
export function rebuiltOnKeyRemoval<T>(keyRing: KeyRing, build: () => TokenVerifier<T>): TokenVerifier<T> {
  let current = build();
  keyRing.onKeysRemoved(() => {
    current = build();
  });
  return { verify: (token) => current.verify(token) };
}
