import { randomBytes } from "node:crypto";
import type { Queryable } from "#kit/db/index.js";

/**
 * The keys that sign oidc-provider's cookies (docs/identity.md, "Authorization server"): created
 * once and kept in the identity database, newest first, so a restart or another replica accepts
 * an interaction begun elsewhere. Concurrent first starts may each insert one; all are accepted.
 */
export async function cookieKeys(db: Queryable): Promise<string[]> {
  const read = async () =>
    (
      await db.query<{ key: string }>("SELECT key FROM oidc_cookie_keys ORDER BY created_at DESC, key")
    ).rows.map((r) => r.key);
  const keys = await read();
  if (keys.length > 0) return keys;
  await db.query("INSERT INTO oidc_cookie_keys (key) VALUES ($1) ON CONFLICT DO NOTHING", [
    randomBytes(32).toString("base64url"),
  ]);
  return read();
}
