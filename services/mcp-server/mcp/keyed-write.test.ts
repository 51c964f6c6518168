import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "#kit/auth/index.js";
import { queryWhileThisProcessIsBlocked } from "#kit/db/testing/query-while-blocked.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { IDEMPOTENCY_META_KEY } from "#kit/propagation/index.js";
import { verifyAuditChain } from "../audit/verify-chain.js";
import { readAuditHead } from "../data/audit-head.js";
import { appendAuditEntry } from "../data/audit-log.js";
import { MIGRATIONS } from "../data/migrations.js";
import { auditEntry } from "../testing/audit-entry.js";
import { createKeyedWrites, type KeyedWrite } from "./keyed-write.js";

/**
 * A keyed write (keyed-write.ts) commits the key, the change and its audit row together, and holds
 * the audit chain's head — which every write in every process waits for — only for the append and
 * the commit, never while the tool builds its answer (docs/mcp-server.md, "Idempotency keys").
 */
const principal: Principal = {
  userId: "user-keyed",
  email: "keyed@company.com",
  roles: ["support_agent"],
  scopes: [],
  sessionId: "s-1",
  tokenId: "t-1",
  expiresAt: 0,
  anonymous: false,
};
const logger = pino({ level: "silent" });

describe.each(testBackends("mcp-server", MIGRATIONS))("keyed write on $name", (backend) => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await backend.open();
  });
  afterAll(() => test?.close());

  const openWrite = async (key: string): Promise<KeyedWrite> => {
    const opened = await createKeyedWrites(test.db, logger).open(
      principal,
      "create_ticket",
      { title: key },
      { [IDEMPOTENCY_META_KEY]: key },
    );
    if (opened.kind !== "fresh") throw new Error(`expected a fresh key, got ${opened.kind}`);
    return opened.write;
  };
  const row = (tool: string) => auditEntry({ userId: principal.userId, tool });
  /** Whether another connection can lock the chain's head at once (NOWAIT: no waiting, no clock). */
  const headIsFree = () =>
    test.db
      .transaction((tx) => tx.query("SELECT seq FROM audit_head FOR UPDATE NOWAIT"))
      .then(
        () => true,
        (err: { code?: string }) => {
          if (err.code === "55P03") return false; // lock_not_available
          throw err;
        },
      );

  // PGlite is one connection: nothing else can ask while a transaction is open.
  it.runIf(backend.name === "postgres")(
    "leaves the audit chain's head free while the tool builds its answer, and appends its row at the commit",
    async () => {
      const write = await openWrite("turn-1:call_0");
      try {
        const value = await write.mutate(
          async () => "changed",
          (tx) => appendAuditEntry(tx, row("keyed_write")),
        );
        expect(value).toBe("changed");
        // Between mutate and commit: the key and the change are in the open transaction, the head is not.
        expect(write.pending).toBe(true);
        expect(await headIsFree()).toBe(true);
        // Another writer's row goes in meanwhile, and the keyed write's row lands after it.
        await test.db.transaction(async (tx) => appendAuditEntry(tx, row("other_writer")));
        await write.commit({ content: [{ type: "text", text: "done" }] });
      } finally {
        // A failed expectation must not leave the transaction (and whatever it locked) open.
        if (write.pending) await write.abandon(new Error("the test ended"));
      }

      const { rows } = await test.db.query<{ tool: string }>(
        "SELECT tool FROM audit_log WHERE tool IN ('keyed_write', 'other_writer') ORDER BY seq",
      );
      expect(rows.map((r) => r.tool)).toEqual(["other_writer", "keyed_write"]);
      const report = await verifyAuditChain(test.db);
      expect(report.problems).toEqual([]);
      const stored = await test.db.query<{ result: unknown }>(
        "SELECT result FROM idempotency_keys WHERE user_id = $1 AND key = $2",
        [principal.userId, "turn-1:call_0"],
      );
      expect(stored.rows[0]?.result).toEqual({ content: [{ type: "text", text: "done" }] });
    },
  );

  it.runIf(backend.name === "postgres")(
    "holds the chain's head across no answer to this process: the key, the row and the COMMIT go out together",
    async () => {
      const before = await readAuditHead(test.db);
      const write = await openWrite("turn-1:call_1");
      await write.mutate(
        async () => "changed",
        (tx) => appendAuditEntry(tx, row("sent_with_commit")),
      );
      const committed = write.commit({ content: [{ type: "text", text: "done" }] });
      // The tool's answer is in: what follows needs no answer from the database to be sent.
      await new Promise((r) => setImmediate(r));
      // This process stands still while another one takes the head: it gets it once the server
      // has committed the write on its own, with the write's row as the chain's last.
      const rows = queryWhileThisProcessIsBlocked(
        test.server ?? { databaseUrl: "", schema: "" },
        "SET lock_timeout = '20s'; SELECT seq::int AS seq FROM audit_head FOR UPDATE",
      );
      await committed;
      expect(rows).toEqual([{ seq: before.seq + 1 }]);
      const { rows: last } = await test.db.query<{ tool: string }>(
        "SELECT tool FROM audit_log WHERE seq = $1",
        [before.seq + 1],
      );
      expect(last[0]?.tool).toBe("sent_with_commit");
    },
  );

  it("refuses an audit row sent after an await (it would follow the COMMIT): nothing of the write stays", async () => {
    const write = await openWrite("turn-2:call_1");
    await write.mutate(
      async () => "changed",
      async (tx) => {
        await Promise.resolve();
        appendAuditEntry(tx, row("late_row"));
      },
    );
    await expect(write.commit({ content: [{ type: "text", text: "done" }] })).rejects.toThrow(
      /audit row must be sent before its COMMIT/,
    );
    const rows = await test.db.query("SELECT 1 FROM audit_log WHERE tool = 'late_row'");
    expect(rows.rows).toHaveLength(0);
    const keys = await test.db.query("SELECT 1 FROM idempotency_keys WHERE key = 'turn-2:call_1'");
    expect(keys.rows).toHaveLength(0);
  });

  it("a tool that fails after its change commits nothing: no key, no row", async () => {
    const write = await openWrite("turn-2:call_0");
    await write.mutate(
      async () => "changed",
      (tx) => appendAuditEntry(tx, row("abandoned_write")),
    );
    expect(await write.abandon(new Error("the answer could not be built"))).toBeUndefined();
    const rows = await test.db.query("SELECT 1 FROM audit_log WHERE tool = 'abandoned_write'");
    expect(rows.rows).toHaveLength(0);
    const keys = await test.db.query("SELECT 1 FROM idempotency_keys WHERE key = 'turn-2:call_0'");
    expect(keys.rows).toHaveLength(0);
  });

  it("a row that cannot be appended fails the commit, and nothing of the write stays", async () => {
    // An unsealed chain (head hash NULL) refuses every append (docs/mcp-server.md).
    const { rows: heads } = await test.db.query<{ hash: string }>("SELECT hash FROM audit_head");
    await test.db.query("UPDATE audit_head SET hash = NULL");
    try {
      const write = await openWrite("turn-3:call_0");
      // The change is made; its row is appended only at the commit, which the chain refuses.
      await expect(
        write.mutate(
          async () => "changed",
          (tx) => appendAuditEntry(tx, row("refused_write")),
        ),
      ).resolves.toBe("changed");
      await expect(write.commit({ content: [] })).rejects.toThrow();
    } finally {
      await test.db.query("UPDATE audit_head SET hash = $1", [heads[0]?.hash]);
    }
    const keys = await test.db.query("SELECT 1 FROM idempotency_keys WHERE key = 'turn-3:call_0'");
    expect(keys.rows).toHaveLength(0);
    const rows = await test.db.query("SELECT 1 FROM audit_log WHERE tool = 'refused_write'");
    expect(rows.rows).toHaveLength(0);
  });
});
