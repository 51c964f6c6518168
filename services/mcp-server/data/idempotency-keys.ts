import { createHash } from "node:crypto";
import type { Database, Queryable, Transaction } from "#kit/db/index.js";
import { canonicalJson } from "../audit/canonical-json.js";

/** How long a key answers repeats (docs/mcp-server.md, "Idempotency keys"). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * One keyed call: whose key — the verified user, and the agent acting for them ("" when none) —
 * which key, and what it asked for.
 */
export interface KeyedCall {
  readonly userId: string;
  readonly agentId: string;
  readonly key: string;
  readonly tool: string;
  readonly argumentsHash: string;
}

/** What an earlier call under the same key asked for and answered. */
export interface StoredCall {
  readonly tool: string;
  readonly argumentsHash: string;
  /** The MCP result it answered (NULL never leaves the claiming transaction). */
  readonly result: unknown;
}

type Row = { tool: string; arguments_hash: string; result: unknown };

const toStored = (r: Row): StoredCall => ({
  tool: r.tool,
  argumentsHash: r.arguments_hash,
  result: r.result,
});

/**
 * SHA-256 of the arguments' canonical JSON (keys sorted), so the same call sent twice hashes the
 * same however its object keys were ordered.
 */
export function argumentsHash(args: unknown): string {
  return createHash("sha256")
    .update(canonicalJson(args ?? {}))
    .digest("hex");
}

/**
 * Keys stored before they named their agent (migration `0011_idempotency_keys_by_agent`): each
 * still answers its user's repeats from any agent until it expires, so a turn under way across the
 * upgrade changes nothing twice. None is written any more.
 */
export const BEFORE_AGENTS = "*";

/** The key's live row, if any (expired rows answer nothing): the caller's own, or one from before agents. */
export async function findKey(
  q: Queryable,
  call: Pick<KeyedCall, "userId" | "agentId" | "key">,
  ttlMs = IDEMPOTENCY_TTL_MS,
): Promise<StoredCall | undefined> {
  const { rows } = await q.query<Row>(
    `SELECT tool, arguments_hash, result FROM idempotency_keys
      WHERE user_id = $1 AND agent_id IN ($2, '${BEFORE_AGENTS}') AND key = $3 AND result IS NOT NULL
        AND created_at > now() - ($4 * interval '1 millisecond')
      ORDER BY agent_id = '${BEFORE_AGENTS}' LIMIT 1`,
    [call.userId, call.agentId, call.key, ttlMs],
  );
  return rows[0] ? toStored(rows[0]) : undefined;
}

/**
 * Claims the key inside the caller's transaction. Returns undefined when this transaction now
 * owns it (an expired row is taken over), or the row another call committed first: on PostgreSQL
 * a concurrent claim of the same key waits here until that call's transaction ends, so two
 * calls can never both run the change.
 */
export async function claimKey(
  tx: Queryable,
  call: KeyedCall,
  ttlMs = IDEMPOTENCY_TTL_MS,
): Promise<StoredCall | undefined> {
  // A live key from before agents is taken already: nothing is inserted beside it.
  const { rows } = await tx.query(
    `INSERT INTO idempotency_keys (user_id, agent_id, key, tool, arguments_hash)
     SELECT $1, $2, $3, $4, $5
      WHERE NOT EXISTS (
        SELECT 1 FROM idempotency_keys
         WHERE user_id = $1 AND agent_id = '${BEFORE_AGENTS}' AND key = $3
           AND created_at > now() - ($6 * interval '1 millisecond'))
     ON CONFLICT (user_id, agent_id, key) DO UPDATE
       SET tool = EXCLUDED.tool, arguments_hash = EXCLUDED.arguments_hash, result = NULL, created_at = now()
       WHERE idempotency_keys.created_at <= now() - ($6 * interval '1 millisecond')
     RETURNING 1 AS claimed`,
    [call.userId, call.agentId, call.key, call.tool, call.argumentsHash, ttlMs],
  );
  if (rows.length > 0) return undefined;
  const existing = await tx.query<Row>(
    `SELECT tool, arguments_hash, result FROM idempotency_keys
      WHERE user_id = $1 AND agent_id IN ($2, '${BEFORE_AGENTS}') AND key = $3
      ORDER BY agent_id = '${BEFORE_AGENTS}' LIMIT 1`,
    [call.userId, call.agentId, call.key],
  );
  const row = existing.rows[0];
  if (!row) throw new Error("idempotency key conflict without a row");
  return toStored(row);
}

/**
 * Stores the answer of the call that claimed the key, in the same transaction as its change: sent
 * unawaited, with the change's audit append and the COMMIT behind it (kit/db `Transaction.send`).
 */
export function completeKey(tx: Transaction, call: KeyedCall, result: unknown): void {
  tx.send("UPDATE idempotency_keys SET result = $4 WHERE user_id = $1 AND agent_id = $2 AND key = $3", [
    call.userId,
    call.agentId,
    call.key,
    JSON.stringify(result),
  ]);
}

/** Deletes expired keys; returns how many. */
export async function sweepKeys(db: Database, ttlMs = IDEMPOTENCY_TTL_MS): Promise<number> {
  const { rowCount } = await db.query(
    "DELETE FROM idempotency_keys WHERE created_at <= now() - ($1 * interval '1 millisecond')",
    [ttlMs],
  );
  return rowCount;
}
