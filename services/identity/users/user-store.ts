import { scopesForRoles } from "#kit/contract/index.js";
import type { Queryable } from "#kit/db/index.js";

/** A user as the identity provider sees them; scopes derive from roles via the kit's scope model. */
export interface UserRecord {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
}

export interface UserWithPassword extends UserRecord {
  readonly passwordHash: string;
}

/** Emails compare case-insensitively; leading/trailing blanks from a login form are not part of it. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

interface UserRow extends Record<string, unknown> {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  roles: string[] | null;
}

// Roles are aggregated in the same statement: one round trip per lookup.
const SELECT_USER = `
  SELECT u.id, u.email, u.name, u.password_hash,
         COALESCE(array_agg(ur.role ORDER BY ur.role) FILTER (WHERE ur.role IS NOT NULL), '{}') AS roles
    FROM users u LEFT JOIN user_roles ur ON ur.user_id = u.id`;

function toUser(row: UserRow): UserWithPassword {
  const roles = row.roles ?? [];
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    roles,
    scopes: scopesForRoles(roles),
    passwordHash: row.password_hash,
  };
}

/** Read access to users and their roles. */
export interface UserStore {
  findByEmail(email: string): Promise<UserWithPassword | undefined>;
  findById(id: string): Promise<UserRecord | undefined>;
}

export function createUserStore(db: Queryable): UserStore {
  return {
    async findByEmail(email) {
      const { rows } = await db.query<UserRow>(`${SELECT_USER} WHERE u.email = $1 GROUP BY u.id`, [
        normalizeEmail(email),
      ]);
      return rows[0] ? toUser(rows[0]) : undefined;
    },
    async findById(id) {
      const { rows } = await db.query<UserRow>(`${SELECT_USER} WHERE u.id = $1 GROUP BY u.id`, [id]);
      if (!rows[0]) return undefined;
      const { passwordHash: _, ...user } = toUser(rows[0]);
      return user;
    },
  };
}

/** The public view of a user (never the hash). */
export function publicUser(user: UserRecord): UserRecord {
  return { id: user.id, email: user.email, name: user.name, roles: user.roles, scopes: user.scopes };
}
