import { randomBytes } from "node:crypto";
import { DEV_ANONYMOUS_PRINCIPAL } from "#kit/auth/index.js";
import type { Database } from "#kit/db/index.js";
import { hashPassword } from "../passwords/password-hash.js";

/**
 * `AUTH_DEV_ANONYMOUS=1` (development only): the development principal as a real user row, so
 * what a token-less caller makes — threads, messages — belongs to a user like anything else (a
 * thread's user is a foreign key). Its password is random and never kept: nobody logs in as it;
 * the only way to act as it is to call without a token while the setting is on.
 */
export async function seedDevPrincipal(db: Database): Promise<void> {
  const p = DEV_ANONYMOUS_PRINCIPAL;
  const passwordHash = await hashPassword(randomBytes(32).toString("base64url"));
  await db.transaction(async (tx) => {
    const res = await tx.query(
      "INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
      [p.userId, p.email, "Development principal (AUTH_DEV_ANONYMOUS)", passwordHash],
    );
    if (res.rowCount === 0) return;
    for (const role of p.roles) {
      await tx.query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING", [
        p.userId,
        role,
      ]);
    }
  });
}
