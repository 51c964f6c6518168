import * as jose from "jose";

/**
 * The signing keys the issuer removed, as one process knows them (docs/architecture.md,
 * "Revocation"): filled by the revocation feed's watcher, read by everything in the process that
 * verifies or holds tokens — the verifiers refuse a removed key's tokens, and the token caches
 * (service credentials, the gateway's exchanged tokens) fetch a new token instead of handing one out.
 * Never pruned: whoever holds a removed key can sign tokens with any `exp`, and removals are rare.
 */
export interface RemovedKeys {
  has(kid: string): boolean;
  /** True when `kid` was not known as removed yet. */
  add(kid: string): boolean;
  readonly size: number;
}

export function createRemovedKeys(): RemovedKeys {
  const kids = new Set<string>();
  return {
    has: (kid) => kids.has(kid),
    add(kid) {
      if (kids.has(kid)) return false;
      kids.add(kid);
      return true;
    },
    get size() {
      return kids.size;
    },
  };
}

/** The `kid` a compact JWT names, or undefined for anything else (an opaque token). */
export function kidOf(token: string): string | undefined {
  try {
    const { kid } = jose.decodeProtectedHeader(token);
    return typeof kid === "string" ? kid : undefined;
  } catch {
    return undefined;
  }
}
