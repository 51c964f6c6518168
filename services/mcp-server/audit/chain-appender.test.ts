import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { type AuditEntry, appendAuditEntry } from "../data/audit-log.js";
import { MIGRATIONS } from "../data/migrations.js";
import { auditEntry } from "../testing/audit-entry.js";
import { createChainAppender } from "./chain-appender.js";
import { verifyAuditChain } from "./verify-chain.js";

/**
 * The chain appender (chain-appender.ts): a lone writer appends in one statement, never by
 * assuming it is alone; any other writer sends it back to the locking path; the chain stays one
 * intact line whichever path each row took.
 */
const entry = (tool: string): AuditEntry => auditEntry({ tool, arguments: { n: tool } });

/** The database, counting the transactions opened through it (the locking path opens one). */
function counting(db: Database): { db: Database; transactions: () => number } {
  let transactions = 0;
  return {
    db: {
      kind: db.kind,
      query: (sql, params) => db.query(sql, params),
      transaction: (fn) => {
        transactions++;
        return db.transaction(fn);
      },
      ping: () => db.ping(),
      close: () => db.close(),
    },
    transactions: () => transactions,
  };
}

describe.each(testBackends("mcp-server", MIGRATIONS))("audit chain appender on $name", (backend) => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await backend.open();
  });
  afterAll(() => test?.close());

  const rowCount = async () => (await verifyAuditChain(test.db)).chainRows;

  it("locks for its first append, then appends alone without a transaction", async () => {
    const before = await rowCount();
    const { db, transactions } = counting(test.db);
    const append = createChainAppender(db);
    await append([entry("first")]);
    expect(transactions()).toBe(1);
    for (let i = 0; i < 10; i++) await append([entry(`alone_${i}`), entry(`alone_${i}_b`)]);
    expect(transactions()).toBe(1);
    const report = await verifyAuditChain(test.db);
    expect(report.problems).toEqual([]);
    expect(report.chainRows).toBe(before + 21);
  });

  it("a row appended by another writer sends it back to the locking path, then on again alone", async () => {
    const { db, transactions } = counting(test.db);
    const append = createChainAppender(db);
    await append([entry("warm")]);
    await append([entry("warm_2")]);
    expect(transactions()).toBe(1);

    // A ticket change appends its row in its own transaction: the head moves under the appender.
    await test.db.transaction(async (tx) => appendAuditEntry(tx, entry("ticket_change")));
    await append([entry("after_other")]);
    // The one-statement attempt wrote nothing (the head had moved); the rows were locked in.
    expect(transactions()).toBe(2);
    // Found moved by someone else: the next append locks too, and finds the head where it left it.
    await append([entry("locked_again")]);
    expect(transactions()).toBe(3);
    await append([entry("alone_again")]);
    expect(transactions()).toBe(3);

    const report = await verifyAuditChain(test.db);
    expect(report.problems).toEqual([]);
    // Ids follow the chain's order: the ids reserved before the other writer's row are not used after it.
    const bySeq = await test.db.query<{ tool: string }>(
      "SELECT tool FROM audit_log ORDER BY seq DESC LIMIT 5",
    );
    const byId = await test.db.query<{ tool: string }>("SELECT tool FROM audit_log ORDER BY id DESC LIMIT 5");
    expect(bySeq.rows.map((r) => r.tool)).toEqual([
      "alone_again",
      "locked_again",
      "after_other",
      "ticket_change",
      "warm_2",
    ]);
    expect(byId.rows).toEqual(bySeq.rows);
  });

  it("two writers side by side (two replicas) keep one intact chain with every row", async () => {
    const before = await rowCount();
    const a = createChainAppender(test.db);
    const b = createChainAppender(test.db);
    const run = async (append: typeof a, name: string) => {
      for (let i = 0; i < 30; i++) await append([entry(`${name}_${i}`), entry(`${name}_${i}_b`)]);
    };
    await Promise.all([run(a, "a"), run(b, "b")]);
    const report = await verifyAuditChain(test.db);
    expect(report.problems).toEqual([]);
    expect(report.chainRows).toBe(before + 120);
  });

  it("a head whose hash was set to NULL stops an appender that knew the head: nothing is written", async () => {
    const append = createChainAppender(test.db);
    await append([entry("known_head")]);
    await append([entry("known_head_2")]);
    const before = await rowCount();
    const { rows: head } = await test.db.query<{ hash: string }>("SELECT hash FROM audit_head");
    await test.db.query("UPDATE audit_head SET hash = NULL");
    try {
      await expect(append([entry("after_unseal")])).rejects.toThrow(/audit_head\.hash is NULL/);
      const { rows } = await test.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM audit_log WHERE tool = 'after_unseal'",
      );
      expect(rows[0]?.n).toBe(0);
    } finally {
      await test.db.query("UPDATE audit_head SET hash = $1", [head[0]?.hash]);
    }
    expect(await rowCount()).toBe(before);
    await append([entry("resealed")]);
    expect((await verifyAuditChain(test.db)).problems).toEqual([]);
  });

  it("a refused row on the one-statement path writes nothing and leaves the head where it was", async () => {
    const append = createChainAppender(test.db);
    await append([entry("before_refusal")]);
    const before = await rowCount();
    // PostgreSQL text cannot hold NUL: a data error for the whole statement.
    await expect(append([entry("good"), entry("bad\u0000tool")])).rejects.toThrow();
    expect(await rowCount()).toBe(before);
    await append([entry("after_refusal")]);
    const report = await verifyAuditChain(test.db);
    expect(report.problems).toEqual([]);
    expect(report.chainRows).toBe(before + 1);
  });
});
