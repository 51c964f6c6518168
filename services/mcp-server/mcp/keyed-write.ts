import type { CallToolResult } from "@modelcontextprotocol/server";
import { actingAgent, type Principal } from "#kit/auth/index.js";
import type { Database, Queryable, Transaction } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { IDEMPOTENCY_META_KEY, isValidIdempotencyKey } from "#kit/propagation/index.js";
import {
  argumentsHash,
  claimKey,
  completeKey,
  findKey,
  type KeyedCall,
  type StoredCall,
  sweepKeys,
} from "../data/idempotency-keys.js";

export const KEY_REUSED = "idempotency key reused for a different call";

/** How often expired keys are deleted (at most; a keyed call triggers it). */
const SWEEP_EVERY_MS = 60 * 60 * 1000;

/** Where a repeat of a key ends: the first call's answer, or a refusal. */
export type Settled =
  | { readonly kind: "replay"; readonly result: CallToolResult }
  | { readonly kind: "mismatch"; readonly message: string };

export type Opened =
  | Settled
  | { readonly kind: "none" }
  | { readonly kind: "invalid"; readonly message: string }
  | { readonly kind: "fresh"; readonly write: KeyedWrite };

/**
 * One keyed write in progress (docs/mcp-server.md, "Idempotency keys"). `mutate` claims the key,
 * runs the change in a transaction and hands the change's value back to the tool while the
 * transaction stays open; `commit` stores the tool's answer under the key, appends the change's
 * audit row and commits all of it together, `abandon` rolls it all back. A tool does nothing but
 * build its answer between the two, so the transaction is held briefly — and the audit chain's
 * head, which every write waits for, only for the append and the commit, which go out together.
 */
export interface KeyedWrite {
  /** A transaction is open, waiting for `commit` or `abandon`. */
  readonly pending: boolean;
  /** `auditOk` sends the change's audit row unawaited (kit/db `Transaction.send`). */
  mutate<T>(fn: (tx: Queryable) => Promise<T>, auditOk: (tx: Transaction) => void): Promise<T>;
  commit(result: CallToolResult): Promise<void>;
  /** After the tool threw: rolls back, and says whether the key had been taken by an earlier call. */
  abandon(err: unknown): Promise<Settled | undefined>;
}

/** Thrown inside the claiming transaction when an earlier call holds the key. */
class KeyTaken extends Error {
  constructor(readonly stored: StoredCall) {
    super("idempotency key taken");
  }
}

export function createKeyedWrites(db: Database, logger: Logger) {
  let lastSweep = Number.NEGATIVE_INFINITY;
  const maybeSweep = () => {
    const now = Date.now();
    if (now - lastSweep < SWEEP_EVERY_MS) return;
    lastSweep = now;
    sweepKeys(db).then(
      (n) => n > 0 && logger.info({ deleted: n }, "expired idempotency keys deleted"),
      (err: unknown) => logger.warn({ err }, "expired idempotency keys could not be deleted"),
    );
  };

  return {
    /** Reads the key from `_meta` and answers at once when an earlier call under it committed. */
    async open(
      principal: Principal,
      tool: string,
      rawArguments: unknown,
      meta: Readonly<Record<string, unknown>>,
    ): Promise<Opened> {
      const key = meta[IDEMPOTENCY_META_KEY];
      if (key === undefined) return { kind: "none" };
      if (!isValidIdempotencyKey(key)) {
        return {
          kind: "invalid",
          message: `_meta "${IDEMPOTENCY_META_KEY}": must be 1–200 characters without control characters`,
        };
      }
      maybeSweep();
      // Scoped to the verified user and the agent acting for them: another user's identical key,
      // or another agent's of the same user, is another row (docs/mcp-server.md, "Idempotency keys").
      const call: KeyedCall = {
        userId: principal.userId,
        agentId: actingAgent(principal) ?? "",
        key,
        tool,
        argumentsHash: argumentsHash(rawArguments),
      };
      const stored = await findKey(db, call);
      if (stored) return settle(call, stored);
      return { kind: "fresh", write: keyedWrite(db, call) };
    },
  };
}

function settle(call: KeyedCall, stored: StoredCall): Settled {
  if (stored.tool !== call.tool || stored.argumentsHash !== call.argumentsHash) {
    return { kind: "mismatch", message: KEY_REUSED };
  }
  return { kind: "replay", result: stored.result as CallToolResult };
}

/**
 * Refuses an `auditOk` that did not send its row before returning (an async one returns a promise):
 * a row it sent later would go after the COMMIT, and the change would commit without it. Thrown in
 * the transaction, which then rolls back.
 */
function sentNow(returned: unknown): void {
  if (typeof (returned as { then?: unknown } | undefined)?.then === "function") {
    (returned as Promise<unknown>).then(undefined, () => undefined);
    throw new Error("a keyed write's audit row must be sent before its COMMIT, not awaited");
  }
}

function keyedWrite(db: Database, call: KeyedCall): KeyedWrite {
  let started = false;
  let pending = false;
  let done: Promise<void> | undefined;
  let release: { resolve: (r: CallToolResult) => void; reject: (e: unknown) => void } | undefined;

  return {
    get pending() {
      return pending;
    },
    mutate<T>(fn: (tx: Queryable) => Promise<T>, auditOk: (tx: Transaction) => void): Promise<T> {
      if (started) return Promise.reject(new Error("a keyed write makes one change"));
      started = true;
      const released = new Promise<CallToolResult>((resolve, reject) => {
        release = { resolve, reject };
      });
      return new Promise<T>((handOut, fail) => {
        done = db.transaction(async (tx) => {
          const taken = await claimKey(tx, call);
          if (taken) throw new KeyTaken(taken);
          const value = await fn(tx);
          pending = true;
          handOut(value);
          // The answer under the key, the audit row and the COMMIT go out together, none waited
          // for. The audit row is last, right before the commit: the chain's head is locked from
          // its append until the commit, and every write in every process waits for it
          // (docs/mcp-server.md, "Tamper evidence (hash chain)"). Taken earlier, it was held while
          // the tool built its answer; waited for, while the event loop got to sending the COMMIT.
          completeKey(tx, call, await released);
          sentNow(auditOk(tx));
        });
        // Before `handOut` this fails the tool's mutate; after it, `commit`/`abandon` report it.
        done.catch(fail);
      });
    },
    async commit(result) {
      pending = false;
      release?.resolve(result);
      await done;
    },
    async abandon(err) {
      if (pending) {
        pending = false;
        release?.reject(err);
      }
      const failure = await done?.then(
        () => undefined,
        (e: unknown) => e,
      );
      return failure instanceof KeyTaken ? settle(call, failure.stored) : undefined;
    },
  };
}
