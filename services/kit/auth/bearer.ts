import { AuthError } from "./auth-error.js";

/**
 * Extracts the token from an `Authorization: Bearer <token>` value (RFC 6750: scheme is
 * case-insensitive). Undefined when the header is absent; AuthError("malformed") when it is
 * present but not a bearer credential — a present-but-bad credential is never ignored.
 */
export function parseBearer(header: string | null | undefined): string | undefined {
  if (header === null || header === undefined) return undefined;
  const m = /^\s*Bearer\s+([^\s]+)\s*$/i.exec(header);
  if (!m) throw new AuthError("malformed", "the Authorization header is not a Bearer credential");
  return m[1];
}
