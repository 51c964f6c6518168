import type { Queryable } from "#kit/db/index.js";

/** Rows removed per call at most, so one prune never holds locks or a transaction for long. */
export const DELETE_EXPIRED_BATCH = 1_000;

/**
 * Deletes up to `limit` expired rows of `oidc_models` and returns how many it deleted; call it again
 * while it returns `limit`. `find` never returns an expired row anyway: this only reclaims space.
 * Consumed codes and refresh tokens are kept until they expire, so a replay is still recognised
 * (and the grant revoked) until then. SKIP LOCKED lets replicas prune at the same time without
 * waiting for one another or for a row being consumed.
 */
export async function deleteExpired(db: Queryable, limit: number = DELETE_EXPIRED_BATCH): Promise<number> {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer`);
  const res = await db.query(
    `DELETE FROM oidc_models WHERE (model, id) IN (
       SELECT model, id FROM oidc_models
        WHERE expires_at <= now()
        ORDER BY expires_at
        LIMIT $1
          FOR UPDATE SKIP LOCKED)`,
    [limit],
  );
  return res.rowCount;
}
