/**
 * Where `npm run load-users` finds the stack and what it names its users: the same variables and
 * defaults the k6 scripts read (loadtest/lib/env.js), so both sides agree without configuration.
 */
export interface LoadUserSettings {
  /** The identity service: AuthService and UserAdminService (docs/identity.md). */
  readonly identity: string;
  readonly adminEmail: string;
  readonly adminPassword: string;
  readonly prefix: string;
  readonly password: string;
  readonly role: string;
}

export function loadUserSettings(env: NodeJS.ProcessEnv): LoadUserSettings {
  return {
    identity: env.IDENTITY || "http://127.0.0.1:8084",
    adminEmail: env.ADMIN_EMAIL || "admin@company.com",
    adminPassword: env.ADMIN_PASSWORD || "admin-dev-password",
    prefix: env.LOAD_USER_PREFIX || "load-user",
    password: env.LOAD_USER_PASSWORD || "load-user-dev-password",
    role: env.LOAD_USER_ROLE || "support_agent",
  };
}

/** Load user n (1-based), as loadtest/lib/env.js names it. */
export function loadUserEmail(prefix: string, n: number): string {
  return `${prefix}-${n}@loadtest.example.com`;
}
