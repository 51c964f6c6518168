import { randomUUID } from "node:crypto";
import type { Role } from "#kit/contract/index.js";
import type { Database, Queryable } from "#kit/db/index.js";

/** A user ready to be stored: the password already hashed. */
export interface HashedNewUser {
  readonly email: string;
  readonly name: string;
  readonly passwordHash: string;
  readonly roles: readonly Role[];
}

/**
 * Inserts a user and their roles with `tx`; false when the email is taken (nothing written).
 * ON CONFLICT keeps concurrent creators (two admins, two replicas) from failing on each other.
 */
export async function insertUser(tx: Queryable, user: HashedNewUser): Promise<string | undefined> {
  const id = randomUUID();
  const res = await tx.query(
    "INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING",
    [id, user.email, user.name, user.passwordHash],
  );
  if (res.rowCount === 0) return undefined;
  for (const role of user.roles) {
    await tx.query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)", [id, role]);
  }
  return id;
}

/** Which of `emails` (normalised) are taken already. */
export async function existingEmails(db: Queryable, emails: readonly string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ email: string }>(
    "SELECT email FROM users WHERE email = ANY($1::text[])",
    [[...emails]],
  );
  return new Set(rows.map((r) => r.email));
}

/** Thrown inside the transaction when taken emails may not be skipped: nothing is kept. */
export class EmailsTaken extends Error {
  override readonly name = "EmailsTaken";
  constructor(readonly emails: readonly string[]) {
    super(`emails already taken: ${emails.join(", ")}`);
  }
}

/**
 * Inserts every user in one transaction: all or nothing unless `skipExisting`, in which case taken
 * emails are reported and left unchanged. Returns the new users' ids by email.
 */
export async function insertUsers(
  db: Database,
  users: readonly HashedNewUser[],
  skipExisting: boolean,
): Promise<{ created: Map<string, string>; existing: string[] }> {
  return db.transaction(async (tx) => {
    const created = new Map<string, string>();
    const existing: string[] = [];
    for (const user of users) {
      const id = await insertUser(tx, user);
      if (id) created.set(user.email, id);
      else existing.push(user.email);
    }
    if (existing.length > 0 && !skipExisting) throw new EmailsTaken(existing);
    return { created, existing };
  });
}
