import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export const CSRF_COOKIE = "sx_oauth_csrf";
export const CSRF_FIELD = "csrf";

export function newCsrfToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * The cookie that pairs the login form with the browser that asked for it (double submit): HttpOnly,
 * SameSite=Strict — a cross-site page posting the form gets no cookie and is refused — scoped to
 * the authorization endpoint, Secure when the issuer is https.
 */
export function csrfCookie(token: string, path: string, secure: boolean): string {
  return `${CSRF_COOKIE}=${token}; Path=${path}; HttpOnly; SameSite=Strict; Max-Age=${CSRF_LIFETIME_SEC}${secure ? "; Secure" : ""}`;
}

/** The CSRF cookie's value in a `Cookie` header, if present. */
export function csrfCookieValue(cookieHeader: string | undefined): string | undefined {
  return cookieHeader
    ?.split(";")
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${CSRF_COOKIE}=`))
    ?.slice(CSRF_COOKIE.length + 1);
}

/**
 * Single use (each page render issues a fresh value): a form value posted once — right password or
 * wrong — is spent, so a captured cookie and field cannot be replayed. Remembered for the cookie's
 * lifetime, in this process; at most `max` at once (the oldest go first, and an evicted value is
 * at worst as replayable as before, until its cookie expires).
 */
export function createSpentCsrfValues(options: { readonly lifetimeMs: number; readonly max: number }) {
  const spent = new Map<string, number>();
  return {
    /** True the first time `value` is spent within its lifetime; false on any replay. */
    spend(value: string, now = Date.now()): boolean {
      for (const [v, until] of spent) {
        if (until > now && spent.size < options.max) break;
        spent.delete(v);
      }
      const key = createHash("sha256").update(value).digest("base64url");
      if ((spent.get(key) ?? 0) > now) return false;
      spent.set(key, now + options.lifetimeMs);
      return true;
    },
  };
}

/** The cookie's lifetime, seconds. */
export const CSRF_LIFETIME_SEC = 900;

/** Whether the posted field equals the cookie the form was served with. */
export function csrfMatches(cookieHeader: string | undefined, posted: string | undefined): boolean {
  if (!cookieHeader || !posted) return false;
  const cookie = csrfCookieValue(cookieHeader);
  if (!cookie) return false;
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(cookie), digest(posted));
}
