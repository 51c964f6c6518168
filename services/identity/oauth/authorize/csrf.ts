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
  return `${CSRF_COOKIE}=${token}; Path=${path}; HttpOnly; SameSite=Strict; Max-Age=900${secure ? "; Secure" : ""}`;
}

/** Whether the posted field equals the cookie the form was served with. */
export function csrfMatches(cookieHeader: string | undefined, posted: string | undefined): boolean {
  if (!cookieHeader || !posted) return false;
  const cookie = cookieHeader
    .split(";")
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${CSRF_COOKIE}=`))
    ?.slice(CSRF_COOKIE.length + 1);
  if (!cookie) return false;
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(cookie), digest(posted));
}
