import type { Database, Listening } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import type { KeyRing } from "./key-ring.js";
import type { RemovedKeyList } from "./removed-key-list.js";
import {
  deleteRemovalsBefore,
  removedSigningKeysSince,
  SIGNING_KEY_REMOVED_CHANNEL,
} from "./signing-key-store.js";

/** How long a removal is sent to new subscribers of the revocation feed (removed-key-list.ts). */
export const REMOVED_KEY_HORIZON_MS = 86_400_000;

export interface RemovedKeySync {
  stop(): Promise<void>;
}

/**
 * Keeps the removed-key list, and the key ring, current with every removal, wherever it was made
 * (`npm run rotate-keys -- --remove`, `--prune`, another replica): `deleteSigningKey` notifies
 * SIGNING_KEY_REMOVED_CHANNEL as it commits, and on that notice this replica reloads its keys at
 * once — its own verifiers drop the key's tokens, cached ones too (rebuilt-on-key-removal.ts) — then
 * reads the removals into the list, which puts them on the revocation feed. No polling: a notice
 * missed while the LISTEN connection was down is made good when it comes back, and the ring's own
 * periodic reload finds a removal too.
 */
export async function startRemovedKeySync(options: {
  readonly db: Pick<Database, "listen" | "query">;
  readonly keyRing: KeyRing;
  readonly list: RemovedKeyList;
  readonly logger: Logger;
}): Promise<RemovedKeySync> {
  const { db, keyRing, list, logger } = options;
  let stopped = false;
  const readRemovals = async () => {
    if (stopped) return;
    const since = new Date(Date.now() - REMOVED_KEY_HORIZON_MS);
    for (const key of await removedSigningKeysSince(db, since)) {
      if (list.add(key))
        logger.info({ kid: key.kid }, "signing key removed: announced on the revocation feed");
    }
  };
  // The keys first, then the feed: by the time anyone hears of the removal, this replica signs with
  // the key that replaces it (when it is stored), not with the one every hop now refuses.
  const catchUp = () => {
    if (stopped) return;
    void keyRing
      .reload()
      .catch((err: unknown) => logger.warn({ err }, "signing key reload failed; keeping the current keys"))
      .then(readRemovals)
      .catch((err: unknown) =>
        logger.error({ err }, "reading removed signing keys failed; the next notice or key reload retries"),
      );
  };

  const forgotten = await deleteRemovalsBefore(db, new Date(Date.now() - REMOVED_KEY_HORIZON_MS));
  if (forgotten > 0) logger.info({ keys: forgotten }, "forgot signing key removals older than a day");
  // LISTEN before the first read: a removal committed in between is then read twice, not missed.
  let listening: Listening | undefined;
  if (db.listen) {
    listening = await db.listen(SIGNING_KEY_REMOVED_CHANNEL, catchUp, { onReconnected: catchUp });
  }
  try {
    await readRemovals();
  } catch (err) {
    await listening?.close();
    throw err;
  }
  keyRing.onKeysRemoved(() => {
    readRemovals().catch((err: unknown) => logger.error({ err }, "reading removed signing keys failed"));
  });
  return {
    async stop() {
      stopped = true;
      await listening?.close();
    },
  };
}
