/**
 * Removes credentials from free text (error messages, stacks, URLs) before it is logged.
 * Structured fields are handled by pino's `redact`; this catches what hides inside strings.
 */

// A JWS compact serialisation: three base64url parts, the first two starting with "eyJ" ('{"').
const JWT = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g;
// "Bearer <anything token-like>" in headers or messages.
const BEARER = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/gi;
// key=value or "key":"value" pairs whose key names a secret.
const SECRET_PAIR =
  /((?:password|passwd|secret|refresh_token|access_token|subject_token|client_secret|api[_-]?key)["']?\s*[:=]\s*["']?)[^"'&\s,}]+/gi;
// Credentials embedded in URLs: scheme://user:password@host
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s]*:)[^@/?#\s]+@/gi;

export const REDACTED = "[REDACTED]";

export function scrubSecrets(text: string): string {
  return text
    .replace(JWT, REDACTED)
    .replace(BEARER, `$1 ${REDACTED}`)
    .replace(SECRET_PAIR, `$1${REDACTED}`)
    .replace(URL_PASSWORD, `$1${REDACTED}@`);
}
