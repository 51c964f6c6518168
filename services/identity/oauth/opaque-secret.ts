import { createHash, randomBytes } from "node:crypto";

/**
 * Opaque credentials of the authorization server: 256 random bits, base64url, with a recognisable
 * prefix so secret scanners and humans can tell what leaked (as tokens/refresh-token.ts does).
 * Only SHA-256 hashes are stored.
 */
export const PREFIXES = {
  code: "sxc_",
  refreshToken: "sxo_",
  clientSecret: "sxs_",
} as const;

export function newOpaque(kind: keyof typeof PREFIXES): string {
  return PREFIXES[kind] + randomBytes(32).toString("base64url");
}

export function hashOpaque(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

/** Cheap shape check before any database lookup. */
export function looksLike(kind: keyof typeof PREFIXES, value: string): boolean {
  return value.length <= 128 && value.startsWith(PREFIXES[kind]);
}
