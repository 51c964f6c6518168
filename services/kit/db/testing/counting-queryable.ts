import type { Queryable, Transaction } from "../types.js";

/** `q`, counting the statements sent through it: a spec's "one round trip" is a count of these. */
export function countingQueryable(q: Queryable): { readonly q: Queryable; statements(): number } {
  let statements = 0;
  return {
    q: {
      query: (sql, params) => {
        statements++;
        return q.query(sql, params);
      },
    },
    statements: () => statements,
  };
}

/**
 * `tx`, counting the statements it waits for (`query`) and the ones it sends unawaited (`send`)
 * apart: a spec's "no round trip of its own" is a statement that is sent, not queried.
 */
export function countingTransaction(tx: Transaction): {
  readonly tx: Transaction;
  queried(): number;
  sent(): number;
} {
  let queried = 0;
  let sent = 0;
  return {
    tx: {
      query: (sql, params) => {
        queried++;
        return tx.query(sql, params);
      },
      send: (sql, params) => {
        sent++;
        tx.send(sql, params);
      },
      afterCommit: (fn) => tx.afterCommit(fn),
    },
    queried: () => queried,
    sent: () => sent,
  };
}
