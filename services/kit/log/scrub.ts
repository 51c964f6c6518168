/**
 * Removes credentials from free text (error messages, stacks, URLs) before it is logged.
 * Secret-named fields are handled by key (`sanitize.ts`); this catches what hides inside strings.
 */

// Every pattern starts only where a token can start (the lookbehinds): without that, a long run of
// token characters that never completes a match ("eyJeyJeyJ…", "a.a.a.a…") is rescanned from
// every position, quadratic in its length — one 180 KB tool argument froze a server for seconds.

// A JWS compact serialisation: three base64url parts, the first two starting with "eyJ" ('{"').
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g;
// "Bearer <value>" in headers or messages; the value is removed only when it looks like a
// credential (see looksLikeCredential), so "no bearer token was presented" stays readable.
const BEARER = /\b(Bearer\s+)([A-Za-z0-9._~+/=-]+)/gi;
// key=value, "key":"value" and key: value pairs whose key names a secret. A quoted value or one
// after "=" is always a value; after a bare colon it may be prose ("subject_token: login session
// has been revoked"), so only a credential-like word is removed there.
// A quoted value is removed whole (spaces included), up to a bound that keeps the scan linear.
const SECRET_PAIR =
  /((?:password|passwd|secret|refresh_token|access_token|subject_token|actor_token|client_secret|api[_-]?key)["']?\s*([:=])\s*)("[^"\n]{0,512}"|'[^'\n]{0,512}'|[^"'&\s,}]+)/gi;
// Credentials embedded in URLs: scheme://user:password@host
const URL_PASSWORD = /((?<![a-z0-9+.-])[a-z][a-z0-9+.-]*:\/\/[^:/?#\s]*:)[^@/?#\s]+@/gi;

export const REDACTED = "[REDACTED]";

/**
 * What every pattern above needs somewhere in the text: "eyJ" (JWT), "bearer" (BEARER), a secret
 * key's name (SECRET_PAIR: password, passwd, secret, *_token, api key) or "://" (URL_PASSWORD).
 * Most log text has none, and one scan for them is far cheaper than four replacements — a log
 * line's scrubbing was 1–1.5 % of the MCP server's CPU per call (docs/performance.md).
 */
const MAY_HOLD_SECRET = /eyJ|bearer|passw(?:or)?d|secret|_token|api[_-]?key|:\/\//i;

/**
 * Whether a single word is a credential rather than a word of prose: secrets carry digits or
 * token punctuation, or are long; "token", "revoked", "credentials", "realm=" are not.
 */
export function looksLikeCredential(word: string): boolean {
  return word.length >= 20 || /\d/.test(word) || (word.length >= 8 && /[._~+/=-]/.test(word));
}

export function scrubSecrets(text: string): string {
  if (!MAY_HOLD_SECRET.test(text)) return text;
  return text
    .replace(JWT, REDACTED)
    .replace(BEARER, (match, prefix: string, value: string) =>
      looksLikeCredential(value) ? `${prefix}${REDACTED}` : match,
    )
    .replace(SECRET_PAIR, (match, prefix: string, separator: string, value: string) => {
      const quote = value[0] === '"' || value[0] === "'" ? value[0] : "";
      if (quote) return `${prefix}${quote}${REDACTED}${quote}`;
      return separator === "=" || looksLikeCredential(value) ? `${prefix}${REDACTED}` : match;
    })
    .replace(URL_PASSWORD, `$1${REDACTED}@`);
}
