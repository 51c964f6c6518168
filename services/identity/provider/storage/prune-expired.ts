import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { DELETE_EXPIRED_BATCH, deleteExpired } from "./delete-expired.js";

/** How often expired rows are reclaimed (they are never returned meanwhile: only space is at stake). */
const PRUNE_EVERY_MS = 60 * 60 * 1000;

/**
 * Reclaims the expired rows of `oidc_models` at start and then hourly, in batches, so the table
 * holds only live codes, tokens, sessions and interactions. Returns the stop function.
 */
export function startPruningExpired(db: Database, logger: Logger): () => void {
  const prune = async () => {
    let deleted = 0;
    for (let n = DELETE_EXPIRED_BATCH; n === DELETE_EXPIRED_BATCH; deleted += n) n = await deleteExpired(db);
    if (deleted > 0) logger.info({ rows: deleted }, "expired authorization server rows deleted");
  };
  const run = () =>
    void prune().catch((err: unknown) => logger.warn({ err }, "expired rows could not be deleted"));
  run();
  const timer = setInterval(run, PRUNE_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
