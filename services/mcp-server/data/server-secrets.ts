import { randomBytes } from "node:crypto";
import type { Queryable } from "#kit/db/index.js";

/**
 * A named secret of this server, made once (32 random bytes, base64url) and kept in its database:
 * every replica on one PostgreSQL reads the same value, and a restart keeps it. The first process
 * to ask creates it; a concurrent first ask by another replica finds the value that won.
 */
export async function serverSecret(q: Queryable, name: string): Promise<string> {
  await q.query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", [
    name,
    randomBytes(32).toString("base64url"),
  ]);
  const { rows } = await q.query<{ value: string }>("SELECT value FROM server_secrets WHERE name = $1", [
    name,
  ]);
  const value = rows[0]?.value;
  if (!value) throw new Error(`server secret ${name} could not be read`);
  return value;
}
