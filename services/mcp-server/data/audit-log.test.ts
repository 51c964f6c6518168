import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countingTransaction } from "#kit/db/testing/counting-queryable.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { verifyAuditChain } from "../audit/verify-chain.js";
import { auditEntry } from "../testing/audit-entry.js";
import { readAuditHead } from "./audit-head.js";
import { appendAuditEntry } from "./audit-log.js";
import { MIGRATIONS } from "./migrations.js";

/**
 * A row appended inside a change's transaction (`appendAuditEntry`): one statement locks the head,
 * hashes the row onto it in the database and moves it, so the head — which every write waits for
 * — is held for that statement and the COMMIT only (docs/mcp-server.md, "Tamper evidence").
 */
describe.each(testBackends("mcp-server", MIGRATIONS))("appendAuditEntry on $name", (backend) => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await backend.open();
  });
  afterAll(() => test?.close());

  it("appends in one statement a row the verifier recomputes, its arguments and delegation chain included", async () => {
    const before = await readAuditHead(test.db);
    let sent = 0;
    for (const [i, entry] of [
      auditEntry({ tool: "create_ticket", arguments: { title: "one", id: 5, seq: "x" } }),
      auditEntry({
        tool: "update_ticket",
        arguments: { ticket_id: 1, nested: { id: [1, 2] } },
        actorSub: "svc-agent",
        actorAgent: "support-assistant",
        actorChain: [{ sub: "svc-gateway" }, { sub: "svc-agent", agent: "support-assistant" }],
        error: 'quote " and line\nbreak',
        confirmedBy: "user-1",
        confirmedAt: new Date("2026-12-06T23:00:00.123Z"),
      }),
    ].entries()) {
      await test.db.transaction(async (tx) => {
        const counted = countingTransaction(tx);
        appendAuditEntry(counted.tx, entry);
        sent += counted.sent();
        // One statement, sent with the COMMIT behind it: no answer waited for while the head is locked.
        expect(counted.sent(), `row ${i}`).toBe(1);
        expect(counted.queried(), `row ${i}`).toBe(0);
      });
    }
    expect(sent).toBe(2);
    const after = await readAuditHead(test.db);
    expect(after.seq).toBe(before.seq + 2);
    const report = await verifyAuditChain(test.db);
    expect(report.problems).toEqual([]);
    const { rows } = await test.db.query<{ prev_hash: string; row_hash: string; id: number }>(
      "SELECT id, prev_hash, row_hash FROM audit_log WHERE seq > $1 ORDER BY seq",
      [before.seq],
    );
    expect(rows[0]?.prev_hash).toBe(before.hash);
    expect(rows[1]?.prev_hash).toBe(rows[0]?.row_hash);
    expect(rows[1]?.row_hash).toBe(after.hash);
    expect(Number(rows[1]?.id)).toBeGreaterThan(Number(rows[0]?.id));
  });

  it("refuses to append to an unsealed chain, saying so, and writes nothing", async () => {
    const head = await readAuditHead(test.db);
    await test.db.query("UPDATE audit_head SET hash = NULL");
    try {
      await expect(
        test.db.transaction(async (tx) => appendAuditEntry(tx, auditEntry({ tool: "refused_append" }))),
      ).rejects.toThrow(/audit_head.hash is NULL: the chain is unsealed/);
    } finally {
      await test.db.query("UPDATE audit_head SET hash = $1", [head.hash]);
    }
    const { rows } = await test.db.query("SELECT 1 FROM audit_log WHERE tool = 'refused_append'");
    expect(rows).toHaveLength(0);
    expect((await readAuditHead(test.db)).seq).toBe(head.seq);
  });

  it("refuses to append to a chain without a head, saying so, and writes nothing", async () => {
    const head = await readAuditHead(test.db);
    await test.db.query("DELETE FROM audit_head");
    try {
      await expect(
        test.db.transaction(async (tx) => appendAuditEntry(tx, auditEntry({ tool: "headless_append" }))),
      ).rejects.toThrow(/audit_head has no row/);
    } finally {
      await test.db.query("INSERT INTO audit_head (seq, hash, legacy_rows) VALUES ($1, $2, $3)", [
        head.seq,
        head.hash,
        head.legacyRows,
      ]);
    }
    const { rows } = await test.db.query("SELECT 1 FROM audit_log WHERE tool = 'headless_append'");
    expect(rows).toHaveLength(0);
  });

  it("refuses a row id past 2^53, which readers could not read, and writes nothing", async () => {
    const head = await readAuditHead(test.db);
    const { rows: seqs } = await test.db.query<{ name: string }>(
      "SELECT pg_get_serial_sequence('audit_log', 'id') AS name",
    );
    const sequence = seqs[0]?.name as string;
    const { rows: last } = await test.db.query<{ value: string }>(
      `SELECT last_value::text AS value FROM ${sequence}`,
    );
    await test.db.query("SELECT setval($1::regclass, 9007199254740993)::text AS v", [sequence]);
    try {
      await expect(
        test.db.transaction(async (tx) => appendAuditEntry(tx, auditEntry({ tool: "huge_id" }))),
      ).rejects.toThrow(/audit_log id past 2\^53 - 1/);
    } finally {
      await test.db.query("SELECT setval($1::regclass, $2::bigint)::text AS v", [sequence, last[0]?.value]);
    }
    const { rows } = await test.db.query("SELECT 1 FROM audit_log WHERE tool = 'huge_id'");
    expect(rows).toHaveLength(0);
    expect(await readAuditHead(test.db)).toEqual(head);
  });
});
