import { createHash } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "#kit/log/index.js";
import { verifyPassword } from "../passwords/password-hash.js";
import type { FirstPartySessions, IssuedTokens } from "../provider/first-party-sessions.js";
import type { LoginAttempt, LoginThrottle } from "../throttle/login-throttle.js";
import { normalizeEmail, publicUser, type UserRecord, type UserStore } from "../users/user-store.js";

export interface LoginDeps {
  readonly users: UserStore;
  readonly throttle: LoginThrottle;
  /** Opens the login session: a grant of the provider, with its tokens. */
  readonly sessions: Pick<FirstPartySessions, "open">;
  /** Compared against when the email is unknown, so both failures cost the same (see password-hash.ts). */
  readonly dummyHash: Promise<string>;
  readonly logger: Logger;
}

// One answer for unknown email and wrong password: the response must not tell which accounts exist.
const INVALID_CREDENTIALS = "invalid email or password";
const MAX_EMAIL = 254;
const MAX_PASSWORD = 1024;

export type Login = (
  email: string,
  password: string,
  clientAddress: string | undefined,
  /** Aborts when the caller has gone: an attempt still waiting for its place is then dropped. */
  signal?: AbortSignal,
) => Promise<IssuedTokens>;

export function createLogin(deps: LoginDeps): Login {
  const { logger } = deps;
  return async (rawEmail, password, clientAddress, signal) => {
    const email = normalizeEmail(rawEmail);
    if (email === "" || password === "") {
      throw new ConnectError("email and password are required", Code.InvalidArgument);
    }
    if (email.length > MAX_EMAIL || password.length > MAX_PASSWORD) {
      throw new ConnectError(
        `email (≤ ${MAX_EMAIL}) or password (≤ ${MAX_PASSWORD}) is too long`,
        Code.InvalidArgument,
      );
    }
    const attempt = await deps.throttle.begin(email, clientAddress, signal);
    if (attempt.retryAfterSec > 0) {
      throw throttled(deps, email, clientAddress, attempt.retryAfterSec, attempt.refusal);
    }
    let user: UserRecord;
    try {
      user = await checkPassword(deps, email, password, clientAddress);
    } finally {
      attempt.end();
    }
    const issued = await deps.sessions.open(publicUser(user));
    logger.info({ user_id: user.id, session_id: issued.sessionId }, "login succeeded");
    return issued;
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The password check of an admitted attempt; its failure or success is recorded before it returns,
 * so the attempt stops counting as under way only once it counts as what it was.
 */
async function checkPassword(
  deps: LoginDeps,
  email: string,
  password: string,
  clientAddress: string | undefined,
): Promise<UserRecord> {
  // Guessing one email from many addresses is slowed, never refused: every attempt on the email
  // waits the same bounded delay, so the real user still gets in (docs/identity.md, "Throttling").
  const delay = deps.throttle.delayMs(email);
  if (delay > 0) await sleep(delay);
  const user = await deps.users.findByEmail(email);
  const matches = await verifyPassword(password, user?.passwordHash ?? (await deps.dummyHash));
  // Checked again after hashing: another replica may have counted failures meanwhile. Only attempts
  // that finish under the limit get an answer, and a right password finishing past the limit looks
  // like every other throttled attempt.
  const wait = deps.throttle.retryAfterSec(email, clientAddress);
  if (wait > 0) throw throttled(deps, email, clientAddress, wait);
  if (!user || !matches) {
    deps.throttle.recordFailure(email, clientAddress);
    deps.logger.warn(
      {
        ...(user ? { user_id: user.id, email } : emailDigest(email)),
        client_address: clientAddress,
        reason: user ? "wrong_password" : "unknown_email",
      },
      "login failed",
    );
    throw new ConnectError(INVALID_CREDENTIALS, Code.Unauthenticated);
  }
  deps.throttle.recordSuccess(email, clientAddress);
  return user;
}

function throttled(
  deps: LoginDeps,
  email: string,
  clientAddress: string | undefined,
  wait: number,
  refusal: LoginAttempt["refusal"] = "failures",
): ConnectError {
  deps.logger.warn(
    { ...emailDigest(email), client_address: clientAddress, retry_after_s: wait, refusal },
    "login throttled",
  );
  const what = refusal === "busy" ? "too many login attempts under way" : "too many failed login attempts";
  return new ConnectError(`${what}; try again in ${wait} s`, Code.ResourceExhausted, {
    "retry-after": String(wait),
  });
}

/**
 * What the logs keep of an email that is not (or not yet) known to be an account: a digest, never
 * the text. People type their password into the email field; a digest still lets an operator see
 * that one address is being hammered, and match it against a suspected email by hashing it.
 */
function emailDigest(email: string): { email_sha256: string } {
  return { email_sha256: createHash("sha256").update(email).digest("hex").slice(0, 16) };
}
