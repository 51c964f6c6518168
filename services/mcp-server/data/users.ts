import type { Database, Queryable } from "#kit/db/index.js";

export interface DirectoryUser {
  id: string;
  email: string;
  name: string;
}

export interface SeenIdentity {
  readonly userId: string;
  readonly email: string;
  readonly roles: readonly string[];
}

/**
 * Records a user whose verified token this server has seen, so tickets can be assigned to them.
 * - known id: refresh email, roles and last-seen;
 * - a seeded placeholder with the same email: re-key it to the real id (tickets already assigned
 *   to the placeholder follow through ON UPDATE CASCADE);
 * - otherwise: insert.
 */
export async function recordSeenUser(db: Database, who: SeenIdentity): Promise<void> {
  const roles = JSON.stringify(who.roles);
  await db.transaction(async (tx) => {
    const known = await tx.query(
      "UPDATE users SET email = $2, roles = $3::jsonb, last_seen_at = now() WHERE id = $1",
      [who.userId, who.email, roles],
    );
    if (known.rowCount > 0) return;
    const claimed = await tx.query(
      `UPDATE users SET id = $1, roles = $3::jsonb, source = 'token', last_seen_at = now()
       WHERE id = (SELECT id FROM users WHERE lower(email) = lower($2) AND source = 'seed' LIMIT 1)`,
      [who.userId, who.email, roles],
    );
    if (claimed.rowCount > 0) return;
    await tx.query(
      `INSERT INTO users (id, email, display_name, roles, source, last_seen_at)
       VALUES ($1, $2, $3, $4::jsonb, 'token', now())
       ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, roles = EXCLUDED.roles, last_seen_at = now()`,
      [who.userId, who.email, who.email.split("@")[0] ?? who.email, roles],
    );
  });
}

/** A user by id, or by email (case-insensitive; the most recently seen wins if several share it). */
export async function findUser(q: Queryable, ref: string): Promise<DirectoryUser | undefined> {
  const { rows } = await q.query<{ id: string; email: string; display_name: string }>(
    `SELECT id, email, display_name FROM users WHERE id = $1 OR lower(email) = lower($1)
     ORDER BY (id = $1) DESC, last_seen_at DESC NULLS LAST LIMIT 1`,
    [ref],
  );
  const r = rows[0];
  return r ? { id: r.id, email: r.email, name: r.display_name } : undefined;
}

/** A few known emails, to tell a caller who it can assign to. */
export async function someUserEmails(q: Queryable, limit: number): Promise<string[]> {
  const { rows } = await q.query<{ email: string }>(
    "SELECT DISTINCT email FROM users ORDER BY email LIMIT $1",
    [limit],
  );
  return rows.map((r) => r.email);
}
