import type { Database } from "#kit/db/index.js";
import { reserveAuditIds } from "../data/audit-ids.js";
import {
  type AuditEntry,
  appendAuditEntries,
  appendAuditEntriesAfter,
  type ChainPosition,
} from "../data/audit-log.js";

/** Row ids taken from the sequence at a time for appends that do not lock the head. */
const ID_BLOCK = 64;

/** Appends rows to the audit chain; resolves once they are committed. Not re-entrant. */
export type ChainAppend = (entries: readonly AuditEntry[]) => Promise<void>;

/**
 * The audit chain's appender for one process (docs/mcp-server.md, "Tamper evidence (hash chain)").
 * The locking append costs four round trips (BEGIN, lock the head, insert, COMMIT) because another
 * writer — another replica, or a ticket change appending its row in its own transaction — may move
 * the head at any time. When nobody else has written since this process's last append, the head
 * is still where that append left it, and the rows can be hashed onto it and written in one
 * statement that moves the head only if it is still there (`appendAuditEntriesAfter`): one round
 * trip. Which path to take is learned from the database, never assumed:
 *
 * - the one-statement path is tried only while the last locking append found the head where this
 *   process had left it (no other writer in between) or after it succeeded itself;
 * - it writes nothing if the head moved, and the rows then take the locking path at once;
 * - a locking append that finds the head moved by someone else keeps the next one on the locking
 *   path too, so replicas writing side by side do not pay a failed attempt per batch;
 * - after any error the head is unknown again, and the next append locks.
 *
 * Either way each row is hashed onto the one before it and the head moves with the rows, in one
 * atomic statement; readers and `npm run audit -- --verify` cannot tell the paths apart. Row ids
 * still follow the chain's order: ids are reserved ahead only for the one-statement path, and any
 * append by another writer (which makes that path fail) or by the locking path drops them.
 */
/**
 * Called when a locking append finds the head behind (or beside) where this process's own last
 * append left it. Writers only ever move the head forward, so that is someone deleting or
 * replacing committed rows and moving the head back to hide it (docs/mcp-server.md, "Tamper
 * evidence (hash chain)").
 */
export type HeadMovedBack = (detail: string) => void;

export function createChainAppender(
  db: Database,
  onHeadMovedBack: HeadMovedBack = () => undefined,
): ChainAppend {
  /** The head as this process's last append left it; undefined when not known. */
  let known: ChainPosition | undefined;
  let alone = false;
  const ids: number[] = [];

  const takeIds = async (count: number): Promise<number[]> => {
    if (ids.length < count) ids.push(...(await reserveAuditIds(db, Math.max(ID_BLOCK, count - ids.length))));
    return ids.splice(0, count);
  };

  const lockingAppend = async (entries: readonly AuditEntry[], expected: ChainPosition | undefined) => {
    // The locking append takes newer ids than any reserved here: the reserved ones are dropped,
    // so every row this process appends has a larger id than the rows before it in the chain.
    ids.length = 0;
    const { found, written } = await db.transaction((tx) => appendAuditEntries(tx, entries));
    alone = expected === undefined || samePosition(found, expected);
    known = written;
    if (
      expected &&
      (found.seq < expected.seq || (found.seq === expected.seq && found.hash !== expected.hash))
    ) {
      onHeadMovedBack(
        `the chain's head was at seq ${found.seq} (${found.hash}), but this process's own last append had left it at seq ${expected.seq} (${expected.hash}): committed rows were deleted or replaced and the head moved back`,
      );
    }
  };

  return async (entries) => {
    // Unknown until this append succeeds: after any error the next one locks and learns the head.
    const expected = known;
    known = undefined;
    if (expected && alone) {
      const written = await appendAuditEntriesAfter(db, entries, expected, await takeIds(entries.length));
      if (written) {
        known = written;
        return;
      }
      // The head moved: someone else appended since. The locking append finds it moved, so the
      // next one locks too.
    }
    await lockingAppend(entries, expected);
  };
}

function samePosition(a: ChainPosition, b: ChainPosition): boolean {
  return a.seq === b.seq && a.hash === b.hash;
}
