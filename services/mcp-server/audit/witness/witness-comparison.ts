import type { Witnessed } from "#kit/audit/index.js";
import type { Queryable } from "#kit/db/index.js";

/** A problem the witness's checkpoint reveals (same shape as the chain walk's problems). */
export interface WitnessProblem {
  readonly kind: "deleted" | "rewritten" | "inserted";
  readonly seq?: number;
  readonly detail: string;
}

export interface WitnessComparison {
  readonly problems: readonly WitnessProblem[];
  /** Chained rows after the checkpoint (none when everything is witnessed). */
  readonly unwitnessed?: { readonly from: number; readonly to: number };
}

const describe = (w: Witnessed) =>
  `the witnessed checkpoint (seq ${w.checkpoint.seq}, ${w.checkpoint.reason} at ${w.checkpoint.at.toISOString()})`;

/**
 * Compares the table with the newest checkpoint the witness holds. The chain's hashes link every
 * row to all those before it, so a table that still holds the witnessed hash at the witnessed seq
 * (and passes the walk) holds every row the witness ever saw, unchanged. What that catches and the
 * walk alone cannot: a chain recomputed from its start (another hash at the witnessed seq), rows cut
 * off the end with the head moved back or the whole table emptied (the witnessed seq is gone), and
 * rows added after the server's closing checkpoint, when no server was running to write them.
 */
export async function compareWithWitness(
  q: Queryable,
  latest: Witnessed | undefined,
): Promise<WitnessComparison> {
  const { rows: ends } = await q.query<{ last: number | null }>(
    "SELECT max(seq) AS last FROM audit_log WHERE seq IS NOT NULL",
  );
  const lastSeq = Number(ends[0]?.last ?? 0);
  const unwitnessedFrom = (seq: number) =>
    lastSeq > seq ? { unwitnessed: { from: seq + 1, to: lastSeq } } : {};
  if (latest === undefined) return { problems: [], ...unwitnessedFrom(0) };

  const cp = latest.checkpoint;
  const problems: WitnessProblem[] = [];
  if (cp.seq > 0) {
    const { rows } = await q.query<{ row_hash: string | null }>(
      "SELECT row_hash FROM audit_log WHERE seq = $1",
      [cp.seq],
    );
    if (rows.length === 0) {
      problems.push({
        kind: "deleted",
        seq: cp.seq,
        detail: `${describe(latest)} is not in the table: ${lastSeq === 0 ? "it holds no chained row at all" : `the chain ends at seq ${lastSeq}`}; rows were deleted and the head moved back`,
      });
    } else if (!rows.some((r) => r.row_hash === cp.hash)) {
      problems.push({
        kind: "rewritten",
        seq: cp.seq,
        detail: `row seq ${cp.seq} does not carry the hash of ${describe(latest)} (${cp.hash}): the chain up to it was rewritten and its hashes recomputed`,
      });
    }
  }
  if (cp.reason === "shutdown" && lastSeq > cp.seq) {
    problems.push({
      kind: "inserted",
      seq: cp.seq + 1,
      detail: `seq ${cp.seq + 1}..${lastSeq} (${lastSeq - cp.seq} row(s)) come after the server's closing checkpoint at ${cp.at.toISOString()}: no server was running to write them`,
    });
    return { problems };
  }
  return { problems, ...unwitnessedFrom(cp.seq) };
}
