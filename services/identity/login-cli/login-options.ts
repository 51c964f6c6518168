import { parseArgs } from "node:util";
import { parseConfig } from "#kit/config/index.js";

/** What `npm run login` logs in with, and where. */
export interface LoginOptions {
  readonly url: string;
  readonly email: string;
  readonly password: string;
}

/** A usage error: printed as its one line, exit code 2. */
export class LoginUsageError extends Error {
  override readonly name = "LoginUsageError";
}

const SEEDED_PASSWORD_SETTING = {
  "admin@company.com": "SEED_ADMIN_PASSWORD",
  "agent@company.com": "SEED_AGENT_PASSWORD",
  "viewer@company.com": "SEED_VIEWER_PASSWORD",
} as const;

export const LOGIN_HELP = `npm run login [-- --email E] [--password P] [--url URL]
Logs in at the identity service (AuthService.Login) and prints the line that sets $TOKEN:
  eval "$(npm run -s login)"
Defaults: LOGIN_EMAIL or admin@company.com; LOGIN_PASSWORD, else a seeded user's SEED_*_PASSWORD
(the development default unless set, as npm start uses it); IDENTITY_URL, else http://HOST:IDENTITY_PORT
(http://127.0.0.1:8084).`;

/**
 * Flags first, then the environment, then what `npm start` itself would use: the same settings
 * (kit config) give the same identity URL and seeded passwords, so the defaults match a stack
 * started from the same shell.
 */
export function loginOptions(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): LoginOptions | "help" {
  let values: {
    email?: string | undefined;
    password?: string | undefined;
    url?: string | undefined;
    help?: boolean | undefined;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        email: { type: "string" },
        password: { type: "string" },
        url: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    throw new LoginUsageError(
      `${err instanceof Error ? err.message : String(err)} (npm run login -- --help)`,
    );
  }
  if (values.help) return "help";
  // parseConfig throws ConfigError with one line naming each bad variable.
  const config = parseConfig(env);
  const email = (values.email ?? env.LOGIN_EMAIL ?? "admin@company.com").trim().toLowerCase();
  const seeded = SEEDED_PASSWORD_SETTING[email as keyof typeof SEEDED_PASSWORD_SETTING];
  const password = values.password ?? env.LOGIN_PASSWORD ?? (seeded ? config[seeded] : undefined);
  if (password === undefined) {
    throw new LoginUsageError(`no password for ${email}: pass --password or set LOGIN_PASSWORD`);
  }
  const url = (values.url ?? config.IDENTITY_URL).replace(/\/+$/, "");
  return { url, email, password };
}
