import { createHash, randomBytes } from "node:crypto";

/**
 * Refresh tokens are opaque: 256 random bits, base64url, with a recognisable prefix so secret
 * scanners and humans can tell what leaked. Only their SHA-256 is stored; with that much entropy an
 * unsalted fast hash is enough, and it allows lookup by hash.
 */
const PREFIX = "sxr_";

export function newRefreshToken(): string {
  return PREFIX + randomBytes(32).toString("base64url");
}

export function hashRefreshToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Cheap shape check before any database lookup (bounded length, our prefix). */
export function looksLikeRefreshToken(token: string): boolean {
  return token.length <= 128 && token.startsWith(PREFIX);
}
