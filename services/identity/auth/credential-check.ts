import { createHash } from "node:crypto";
import type { Logger } from "#kit/log/index.js";
import { verifyPassword } from "../passwords/password-hash.js";
import type { LoginAttempt, LoginThrottle } from "../throttle/login-throttle.js";
import { normalizeEmail, publicUser, type UserRecord, type UserStore } from "../users/user-store.js";

export type CredentialCheck =
  | { readonly ok: true; readonly user: UserRecord }
  | { readonly ok: false; readonly reason: "invalid" }
  | {
      readonly ok: false;
      readonly reason: "throttled";
      readonly retryAfterSec: number;
      readonly refusal: NonNullable<LoginAttempt["refusal"]>;
    };

/** The longest email and password looked at; longer is `invalid` without hashing. */
export const MAX_EMAIL = 254;
export const MAX_PASSWORD = 1024;

/**
 * The one password check behind both doors, AuthService.Login (auth/login.ts) and the sign-in page
 * (docs/identity.md, "Throttling"): one throttle instance (guesses through either door count
 * together), an attempt admitted to the hash only while its pair's and address's limits leave a
 * place (`begin`), the same delay per email, the same dummy hash for unknown emails, the throttle
 * checked again after hashing (another replica may have counted failures meanwhile: a right
 * password finishing past the limit looks like every other throttled attempt), the outcome
 * recorded before the attempt stops counting as under way, and one answer for both failures. It
 * creates no session. `via` names the door in the log lines, when there is more than one.
 */
export function createCredentialCheck(deps: {
  users: UserStore;
  throttle: LoginThrottle;
  dummyHash: Promise<string>;
  logger: Logger;
  via?: string;
}) {
  const { logger } = deps;
  const door = deps.via === undefined ? {} : { via: deps.via };
  const throttled = (
    email: string,
    address: string | undefined,
    retryAfterSec: number,
    refusal: NonNullable<LoginAttempt["refusal"]> = "failures",
  ): CredentialCheck => {
    logger.warn(
      {
        email_sha256: digest(email),
        client_address: address,
        retry_after_s: retryAfterSec,
        refusal,
        ...door,
      },
      "login throttled",
    );
    return { ok: false, reason: "throttled", retryAfterSec, refusal };
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
          // An unknown email is logged as a digest: people type their password into that field.
          ...(user ? { user_id: user.id, email } : { email_sha256: digest(email) }),
          client_address: address,
          reason: user ? "wrong_password" : "unknown_email",
          ...door,
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
    /** Aborts when the caller has gone: an attempt still waiting for its place is then dropped. */
    signal?: AbortSignal,
  ): Promise<CredentialCheck> => {
    const email = normalizeEmail(rawEmail);
    if (email === "" || password === "" || email.length > MAX_EMAIL || password.length > MAX_PASSWORD)
      return { ok: false, reason: "invalid" };
    const attempt = await deps.throttle.begin(email, address, signal);
    if (attempt.retryAfterSec > 0) return throttled(email, address, attempt.retryAfterSec, attempt.refusal);
    try {
      return await check(email, password, address);
    } finally {
      attempt.end();
    }
  };
}

export type CheckCredentials = ReturnType<typeof createCredentialCheck>;

/**
 * What the logs keep of an email that is not (or not yet) known to be an account: a digest, never
 * the text. A digest still lets an operator see that one address is being hammered, and match it
 * against a suspected email by hashing it.
 */
function digest(email: string): string {
  return createHash("sha256").update(email).digest("hex").slice(0, 16);
}
