import type { Database } from "#kit/db/index.js";
import { CHAINED_COLUMNS, type ChainedContent, chainHash, GENESIS_HASH } from "../audit/chain-hash.js";

/**
 * The ways someone with write access to the MCP server's database can tamper with the audit trail
 * (issue 19): each takes a copy of an intact, witnessed trail of at least 12 rows and changes it.
 * The attacker knows the hash algorithm: several recompute every hash so the table is consistent.
 */
export type Tamper = (db: Database) => Promise<void>;

type Row = ChainedContent & Record<string, unknown>;

const hashOf = async (db: Database, seq: number) =>
  (await db.query<{ row_hash: string }>("SELECT row_hash FROM audit_log WHERE seq = $1", [seq])).rows[0]
    ?.row_hash as string;

/** Recomputes every link and hash from the genesis and moves the head to the end: a consistent forgery. */
async function recomputeChain(db: Database): Promise<void> {
  const { rows } = await db.query<Row>(`SELECT ${CHAINED_COLUMNS.join(", ")} FROM audit_log ORDER BY seq`);
  let prev = GENESIS_HASH;
  for (const r of rows) {
    const hash = chainHash(prev, r);
    await db.query("UPDATE audit_log SET prev_hash = $1, row_hash = $2 WHERE id = $3", [prev, hash, r.id]);
    prev = hash;
  }
  await db.query("UPDATE audit_head SET seq = $1, hash = $2", [rows.length, prev]);
}

/** The check that keeps seq from 1 (migration 0012) is the insider's to drop, first. */
async function dropSeqCheck(db: Database): Promise<void> {
  await db.query("ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_seq_from_one");
}

/** Deletes row `seq` and closes the gap (in two steps: the unique index on seq is checked per row). */
async function deleteAndRenumber(db: Database, seq: number): Promise<void> {
  await dropSeqCheck(db);
  await db.query("DELETE FROM audit_log WHERE seq = $1", [seq]);
  await db.query("UPDATE audit_log SET seq = -seq WHERE seq > $1", [seq]);
  await db.query("UPDATE audit_log SET seq = -seq - 1 WHERE seq < 0");
  await db.query("UPDATE audit_head SET seq = seq - 1");
}

/**
 * Inserts a row the server never wrote after `head`, linked to it with a correct hash (the attacker
 * knows the algorithm); the head itself is left where it is. Returns the forged row's seq and hash.
 */
export async function insertForgedRow(
  db: Database,
  head: { readonly seq: number; readonly hash: string },
): Promise<{ seq: number; rowHash: string }> {
  const forged: ChainedContent = {
    id: 900_001,
    seq: head.seq + 1,
    at: new Date(),
    user_id: "u-admin-7f3a",
    email: "admin@company.com",
    actor_sub: null,
    actor_agent: null,
    actor_chain: [],
    anonymous: false,
    tool: "delete_ticket",
    arguments: { ticket_id: 1 },
    outcome: "ok",
    error_code: null,
    error: null,
    duration_ms: 1.5,
    trace_id: null,
    request_id: null,
    session_id: null,
  };
  const rowHash = chainHash(head.hash, forged);
  await db.query(
    `INSERT INTO audit_log (id, seq, at, user_id, email, anonymous, tool, arguments, outcome, duration_ms, prev_hash, row_hash)
     VALUES ($1, $2, $3, $4, $5, false, $6, $7::jsonb, 'ok', 1.5, $8, $9)`,
    [
      forged.id,
      forged.seq,
      forged.at,
      forged.user_id,
      forged.email,
      forged.tool,
      JSON.stringify(forged.arguments),
      head.hash,
      rowHash,
    ],
  );
  return { seq: forged.seq, rowHash };
}

/** A row the server never wrote, linked to the last one with a correct hash, and the head moved to it. */
async function forgeAppend(db: Database): Promise<void> {
  const { rows } = await db.query<{ seq: number; hash: string }>("SELECT seq, hash FROM audit_head");
  const forged = await insertForgedRow(db, rows[0] as { seq: number; hash: string });
  await db.query("UPDATE audit_head SET seq = $1, hash = $2", [forged.seq, forged.rowHash]);
}

/** The 15 kinds of tampering `npm run audit -- --verify` must detect, by name. */
export const TAMPERING: readonly (readonly [string, Tamper])[] = [
  [
    "field edit",
    async (db) => {
      await db.query(
        "UPDATE audit_log SET outcome = CASE outcome WHEN 'ok' THEN 'refused' ELSE 'ok' END WHERE seq = 3",
      );
    },
  ],
  [
    "timestamp",
    async (db) => {
      await db.query("UPDATE audit_log SET at = at - interval '1 hour' WHERE seq = 4");
    },
  ],
  [
    "attribution",
    async (db) => {
      await db.query(
        "UPDATE audit_log SET user_id = 'u-someone-else', email = 'someone@company.com' WHERE seq = 5",
      );
    },
  ],
  [
    "middle delete",
    async (db) => {
      await db.query("DELETE FROM audit_log WHERE seq = 6");
    },
  ],
  ["delete + renumber", (db) => deleteAndRenumber(db, 6)],
  [
    "swapped seq",
    async (db) => {
      await dropSeqCheck(db);
      await db.query("UPDATE audit_log SET seq = -7 WHERE seq = 7");
      await db.query("UPDATE audit_log SET seq = 7 WHERE seq = 8");
      await db.query("UPDATE audit_log SET seq = 8 WHERE seq = -7");
    },
  ],
  [
    "swapped content",
    async (db) => {
      await db.query(
        `UPDATE audit_log a SET tool = b.tool, arguments = b.arguments, outcome = b.outcome, user_id = b.user_id
       FROM audit_log b WHERE (a.seq, b.seq) IN ((7, 8), (8, 7))`,
      );
    },
  ],
  [
    "truncation, head kept",
    async (db) => {
      await db.query("DELETE FROM audit_log WHERE seq > 9");
    },
  ],
  [
    "truncation, head moved back",
    async (db) => {
      await db.query("DELETE FROM audit_log WHERE seq > 9");
      await db.query("UPDATE audit_head SET seq = 9, hash = $1", [await hashOf(db, 9)]);
    },
  ],
  [
    "full recompute",
    async (db) => {
      await db.query("UPDATE audit_log SET user_id = 'u-someone-else' WHERE seq = 3");
      await recomputeChain(db);
    },
  ],
  [
    "delete + renumber + recompute",
    async (db) => {
      await deleteAndRenumber(db, 6);
      await recomputeChain(db);
    },
  ],
  [
    "head nulled",
    async (db) => {
      await db.query("UPDATE audit_log SET tool = 'get_ticket' WHERE seq = 2");
      await db.query("UPDATE audit_head SET hash = NULL, legacy_rows = seq");
    },
  ],
  [
    "delete all",
    async (db) => {
      await db.query("DELETE FROM audit_log");
      await db.query("UPDATE audit_head SET seq = 0, hash = $1, legacy_rows = 0", [GENESIS_HASH]);
    },
  ],
  ["forged append", forgeAppend],
  [
    "head row deleted",
    async (db) => {
      await db.query("DELETE FROM audit_head");
    },
  ],
];
