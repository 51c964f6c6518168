import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "#kit/log/index.js";
import type { FirstPartySessions, IssuedTokens } from "../provider/first-party-sessions.js";
import type { LoginThrottle } from "../throttle/login-throttle.js";
import { normalizeEmail, type UserStore } from "../users/user-store.js";
import { createCredentialCheck, MAX_EMAIL, MAX_PASSWORD } from "./credential-check.js";

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

export type Login = (
  email: string,
  password: string,
  clientAddress: string | undefined,
  /** Aborts when the caller has gone: an attempt still waiting for its place is then dropped. */
  signal?: AbortSignal,
) => Promise<IssuedTokens>;

/** AuthService.Login: the shared password check (credential-check.ts), then a login session. */
export function createLogin(deps: LoginDeps): Login {
  const { logger } = deps;
  const checkCredentials = createCredentialCheck(deps);
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
    const checked = await checkCredentials(email, password, clientAddress, signal);
    if (!checked.ok && checked.reason === "throttled") {
      const what =
        checked.refusal === "busy" ? "too many login attempts under way" : "too many failed login attempts";
      throw new ConnectError(`${what}; try again in ${checked.retryAfterSec} s`, Code.ResourceExhausted, {
        "retry-after": String(checked.retryAfterSec),
      });
    }
    if (!checked.ok) throw new ConnectError(INVALID_CREDENTIALS, Code.Unauthenticated);
    const issued = await deps.sessions.open(checked.user);
    logger.info({ user_id: checked.user.id, session_id: issued.sessionId }, "login succeeded");
    return issued;
  };
}
