import type { CheckpointReason, Witnessed } from "#kit/audit/index.js";
import type { Queryable } from "#kit/db/index.js";

interface Row extends Record<string, unknown> {
  id: number;
  seq: number;
  hash: string;
  at: Date;
  reason: CheckpointReason;
  signer_key: string;
  signature: string;
  witnessed_at: Date;
  countersignature: string;
}

const COLUMNS = "id, seq, hash, at, reason, signer_key, signature, witnessed_at, countersignature";

const toWitnessed = (r: Row): Witnessed => ({
  checkpoint: {
    seq: r.seq,
    hash: r.hash,
    at: r.at,
    reason: r.reason,
    signerKey: r.signer_key,
    signature: r.signature,
  },
  witnessId: r.id,
  witnessedAt: r.witnessed_at,
  countersignature: r.countersignature,
});

/** The newest checkpoint of `chain` (by the witness's own order), if any. */
export async function latestCheckpoint(q: Queryable, chain: string): Promise<Witnessed | undefined> {
  const { rows } = await q.query<Row>(
    `SELECT ${COLUMNS} FROM audit_checkpoints WHERE chain = $1 ORDER BY id DESC LIMIT 1`,
    [chain],
  );
  return rows[0] ? toWitnessed(rows[0]) : undefined;
}

/** Reserves the id the next checkpoint will get (it is part of what the witness countersigns). */
export async function nextCheckpointId(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ id: number }>(
    "SELECT nextval(pg_get_serial_sequence('audit_checkpoints', 'id')) AS id",
  );
  return rows[0]?.id as number;
}

export async function insertCheckpoint(q: Queryable, chain: string, w: Witnessed): Promise<void> {
  const c = w.checkpoint;
  await q.query(
    `INSERT INTO audit_checkpoints (${COLUMNS}, chain) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      w.witnessId,
      c.seq,
      c.hash,
      c.at,
      c.reason,
      c.signerKey,
      c.signature,
      w.witnessedAt,
      w.countersignature,
      chain,
    ],
  );
}

/** Serialises the checkpoints of one chain (two MCP replicas recording at once) until `tx` ends. */
export async function lockChain(tx: Queryable, chain: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
    `support-ext:audit-witness:${chain}`,
  ]);
}
