/**
 * Removes credentials from free text (error messages, stacks, URLs) before it is logged.
 * Secret-named fields are handled by key (`sanitize.ts`); this catches what hides inside strings.
 */

// Every pattern starts only where a token can start (the lookbehinds): without that, a long run of
// token characters that never completes a match ("eyJeyJeyJ…", "a.a.a.a…") is rescanned from
// every position, quadratic in its length — one 180 KB tool argument froze a server for seconds.

// A JWS compact serialisation: three base64url parts, the first two starting with "eyJ" ('{"').
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g;
// "Bearer <anything token-like>" in headers or messages.
const BEARER = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/gi;
// key=value or "key":"value" pairs whose key names a secret.
const SECRET_PAIR =
  /((?:password|passwd|secret|refresh_token|access_token|subject_token|client_secret|api[_-]?key)["']?\s*[:=]\s*["']?)[^"'&\s,}]+/gi;
// Credentials embedded in URLs: scheme://user:password@host
const URL_PASSWORD = /((?<![a-z0-9+.-])[a-z][a-z0-9+.-]*:\/\/[^:/?#\s]*:)[^@/?#\s]+@/gi;

export const REDACTED = "[REDACTED]";

export function scrubSecrets(text: string): string {
  return text
    .replace(JWT, REDACTED)
    .replace(BEARER, `$1 ${REDACTED}`)
    .replace(SECRET_PAIR, `$1${REDACTED}`)
    .replace(URL_PASSWORD, `$1${REDACTED}@`);
}
