import { createHash } from "node:crypto";
import type { Logger } from "#kit/log/index.js";
import { verifyPassword } from "../../passwords/password-hash.js";
import type { LoginThrottle } from "../../throttle/login-throttle.js";
import { normalizeEmail, publicUser, type UserRecord, type UserStore } from "../../users/user-store.js";

export type CredentialCheck =
  | { readonly ok: true; readonly user: UserRecord }
  | { readonly ok: false; readonly reason: "invalid" | "throttled"; readonly retryAfterSec?: number };

/**
 * The password check of AuthService.Login (auth/login.ts, docs/identity.md "Throttling") for the
 * login page: the same throttle instance (so guesses through either door count together), the
 * same delay per email, the same dummy hash for unknown emails, the same admission of an attempt
 * (`begin`) and check after hashing and one answer for both failures. It creates no session: the code's redemption does.
 */
export function createCredentialCheck(deps: {
  users: UserStore;
  throttle: LoginThrottle;
  dummyHash: Promise<string>;
  logger: Logger;
}) {
  const { logger } = deps;
  const throttled = (email: string, address: string | undefined, wait: number): CredentialCheck => {
    logger.warn(
      { email_sha256: digest(email), client_address: address, retry_after_s: wait, via: "oauth_authorize" },
      "login throttled",
    );
    return { ok: false, reason: "throttled", retryAfterSec: wait };
  };
  const check = async (
    email: string,
    password: string,
    address: string | undefined,
  ): Promise<CredentialCheck> => {
    const delay = deps.throttle.delayMs(email);
    if (delay > 0) await new Promise<void>((resolve) => setTimeout(resolve, delay));
    const user = await deps.users.findByEmail(email);
    const matches = await verifyPassword(password, user?.passwordHash ?? (await deps.dummyHash));
    const late = deps.throttle.retryAfterSec(email, address);
    if (late > 0) return throttled(email, address, late);
    if (!user || !matches) {
      deps.throttle.recordFailure(email, address);
      logger.warn(
        {
          ...(user ? { user_id: user.id, email } : { email_sha256: digest(email) }),
          client_address: address,
          reason: user ? "wrong_password" : "unknown_email",
          via: "oauth_authorize",
        },
        "login failed",
      );
      return { ok: false, reason: "invalid" };
    }
    deps.throttle.recordSuccess(email, address);
    return { ok: true, user: publicUser(user) };
  };
  return async (
    rawEmail: string,
    password: string,
    address: string | undefined,
  ): Promise<CredentialCheck> => {
    const email = normalizeEmail(rawEmail);
    if (email === "" || password === "" || email.length > 254 || password.length > 1024)
      return { ok: false, reason: "invalid" };
    // Admitted only while the failures counted plus the attempts under way stay under the limits.
    const attempt = await deps.throttle.begin(email, address);
    if (attempt.retryAfterSec > 0) return throttled(email, address, attempt.retryAfterSec);
    try {
      return await check(email, password, address);
    } finally {
      attempt.end();
    }
  };
}

export type CheckCredentials = ReturnType<typeof createCredentialCheck>;

function digest(email: string): string {
  return createHash("sha256").update(email).digest("hex").slice(0, 16);
}
