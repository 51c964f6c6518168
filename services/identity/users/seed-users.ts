import type { Config } from "#kit/config/index.js";
import { ROLES, type Role } from "#kit/contract/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { hashPassword } from "../passwords/password-hash.js";
import { insertUser } from "./user-writer.js";

interface SeedUser {
  readonly email: string;
  readonly name: string;
  readonly role: Role;
  readonly password: string;
}

const ROLE_DESCRIPTIONS: Record<Role, string> = {
  admin: "Everything, including deleting tickets and reading system health",
  support_agent: "Reads and writes tickets, reads integrations and system health; cannot delete",
  viewer: "Reads tickets and integrations",
};

/** The three seeded users (docs/identity.md, "Users and roles"), passwords from SEED_*_PASSWORD. */
export function seedUsersFrom(
  config: Pick<Config, "SEED_ADMIN_PASSWORD" | "SEED_AGENT_PASSWORD" | "SEED_VIEWER_PASSWORD">,
): SeedUser[] {
  return [
    { email: "admin@company.com", name: "Admin", role: "admin", password: config.SEED_ADMIN_PASSWORD },
    {
      email: "agent@company.com",
      name: "Support Agent",
      role: "support_agent",
      password: config.SEED_AGENT_PASSWORD,
    },
    { email: "viewer@company.com", name: "Viewer", role: "viewer", password: config.SEED_VIEWER_PASSWORD },
  ];
}

/**
 * Inserts the roles and any seed user that does not exist yet. Existing users are left alone, so a
 * changed SEED_*_PASSWORD does not silently reset a password after the first start. Safe to run
 * concurrently from several replicas (ON CONFLICT DO NOTHING).
 */
export async function seedUsers(db: Database, users: readonly SeedUser[], logger: Logger): Promise<void> {
  for (const role of ROLES) {
    await db.query("INSERT INTO roles (name, description) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", [
      role,
      ROLE_DESCRIPTIONS[role],
    ]);
  }
  const { rows } = await db.query<{ email: string }>(
    "SELECT email FROM users WHERE email = ANY($1::text[])",
    [users.map((u) => u.email)],
  );
  const existing = new Set(rows.map((r) => r.email));
  for (const user of users) {
    if (existing.has(user.email)) continue;
    const passwordHash = await hashPassword(user.password);
    const id = await db.transaction((tx) =>
      insertUser(tx, { email: user.email, name: user.name, passwordHash, roles: [user.role] }),
    );
    if (id) logger.info({ email: user.email, role: user.role, user_id: id }, "seeded user");
  }
}
