import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MigrationError } from "./migrate.js";
import { type OpenDatabaseOptions, openDatabase } from "./open-database.js";
import { queryWhileThisProcessIsBlocked } from "./testing/query-while-blocked.js";
import type { Database, Migration, Transaction } from "./types.js";

/**
 * One behavioural suite run against every back end (`pglite-database.test.ts`, `pg-database.test.ts`),
 * because the point of the data layer is that services cannot tell them apart.
 */
export interface BackendHarness {
  readonly kind: Database["kind"];
  /** Options pointing at a new, empty, isolated database (fresh temp dir or fresh schema). */
  freshTarget(): Promise<Pick<OpenDatabaseOptions, "dataDir" | "databaseUrl" | "schema">>;
  /** Removes everything the harness created. */
  cleanup(): Promise<void>;
}

type Target = Awaited<ReturnType<BackendHarness["freshTarget"]>>;

const SERVICE = "kit-db-test";

const m1: Migration = {
  id: "0001_notes",
  sql: "CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL)",
};
// Depends on m1 (proves order) and is not idempotent (proves "applied once").
const m2: Migration = {
  id: "0002_notes_created_at",
  sql: `ALTER TABLE notes ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
        CREATE INDEX notes_created_at ON notes (created_at)`,
};
const m3: Migration = { id: "0003_tags", sql: "CREATE TABLE tags (name text PRIMARY KEY)" };

function recordingLogger() {
  const lines: { obj: Record<string, unknown>; msg: string }[] = [];
  return {
    lines,
    applied: () => lines.filter((l) => l.msg === "database migration applied").map((l) => l.obj.migration),
    info(obj: object, msg: string) {
      lines.push({ obj: obj as Record<string, unknown>, msg });
    },
  };
}

export function databaseContract(makeHarness: () => BackendHarness): void {
  const harness = makeHarness();
  const open = (
    target: Target,
    migrations: readonly Migration[],
    logger?: ReturnType<typeof recordingLogger>,
  ) => openDatabase({ service: SERVICE, ...target, migrations, ...(logger ? { logger } : {}) });

  afterAll(() => harness.cleanup());

  // Every fresh PGlite directory runs initdb (seconds), so these get more than the default timeout.
  describe("migrations", { timeout: 90_000 }, () => {
    it("apply in order, once, and survive a reopen with the data", async () => {
      const target = await harness.freshTarget();
      const log1 = recordingLogger();
      const db1 = await open(target, [m1, m2], log1);
      expect(db1.kind).toBe(harness.kind);
      expect(log1.applied()).toEqual([m1.id, m2.id]);
      await db1.query("INSERT INTO notes (body) VALUES ($1)", ["kept"]);
      await db1.close();

      const log2 = recordingLogger();
      const db2 = await open(target, [m1, m2, m3], log2);
      try {
        expect(log2.applied()).toEqual([m3.id]);
        const notes = await db2.query<{ body: string; created_at: Date }>(
          "SELECT body, created_at FROM notes",
        );
        expect(notes.rows.map((r) => r.body)).toEqual(["kept"]);
        const recorded = await db2.query<{ id: string; applied_at: Date }>(
          "SELECT id, applied_at FROM schema_migrations ORDER BY applied_at, id",
        );
        expect(recorded.rows.map((r) => r.id)).toEqual([m1.id, m2.id, m3.id]);
        expect(recorded.rows[0]?.applied_at).toBeInstanceOf(Date);
      } finally {
        await db2.close();
      }
    });

    it("ignore recorded ids that are no longer listed", async () => {
      const target = await harness.freshTarget();
      await (await open(target, [m1, m2])).close();
      const log = recordingLogger();
      const db = await open(target, [m1, m3], log);
      try {
        expect(log.applied()).toEqual([m3.id]);
        const { rows } = await db.query("SELECT id FROM schema_migrations ORDER BY id");
        expect(rows.map((r) => r.id)).toEqual([m1.id, m2.id, m3.id]);
      } finally {
        await db.close();
      }
    });

    it("roll a failed migration back and reject naming it", async () => {
      const target = await harness.freshTarget();
      const bad: Migration = {
        id: "0002_bad",
        sql: "CREATE TABLE half (a int); INSERT INTO half VALUES (1); SELECT * FROM no_such_table",
      };
      const err = await open(target, [m1, bad]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(MigrationError);
      expect((err as MigrationError).migrationId).toBe("0002_bad");
      expect((err as Error).message).toContain('"0002_bad"');
      expect((err as Error).message).toContain("no_such_table");

      const db = await open(target, [m1]);
      try {
        const half = await db.query("SELECT to_regclass('half') AS t");
        expect(half.rows[0]?.t).toBeNull();
        const { rows } = await db.query("SELECT id FROM schema_migrations");
        expect(rows.map((r) => r.id)).toEqual([m1.id]);
      } finally {
        await db.close();
      }
    });

    it("reject duplicate ids before touching the database", async () => {
      const target = await harness.freshTarget();
      await expect(open(target, [m1, { id: m1.id, sql: "SELECT 1" }])).rejects.toThrow(
        /duplicate migration id/,
      );
    });
  });

  describe("queries and transactions", { timeout: 60_000 }, () => {
    let db: Database;
    let target: Target;
    beforeAll(async () => {
      target = await harness.freshTarget();
      db = await open(target, [
        m1,
        {
          id: "0002_counter",
          sql: "CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counter VALUES (1, 0)",
        },
        {
          id: "0003_kv",
          sql: "CREATE TABLE kv (k text PRIMARY KEY, v jsonb, at timestamptz, d date, big bigint, amount numeric)",
        },
      ]);
    });
    afterAll(() => db.close());

    it("report rowCount per statement", async () => {
      await db.query("CREATE TABLE rc (a int)");
      expect((await db.query("INSERT INTO rc VALUES (1), (2), (3)")).rowCount).toBe(3);
      expect((await db.query("UPDATE rc SET a = a + 1 WHERE a > 1")).rowCount).toBe(2);
      expect((await db.query("SELECT * FROM rc")).rowCount).toBe(3);
      expect((await db.query("DELETE FROM rc")).rowCount).toBe(3);
      expect((await db.query("DROP TABLE rc")).rowCount).toBe(0);
    });

    it("commit and return the callback's value", async () => {
      const id = await db.transaction(async (tx) => {
        const { rows } = await tx.query<{ id: number }>("INSERT INTO notes (body) VALUES ($1) RETURNING id", [
          "c1",
        ]);
        await tx.query("INSERT INTO notes (body) VALUES ($1)", ["c2"]);
        return rows[0]?.id;
      });
      expect(typeof id).toBe("number");
      const { rows } = await db.query("SELECT body FROM notes WHERE body LIKE 'c%' ORDER BY id");
      expect(rows.map((r) => r.body)).toEqual(["c1", "c2"]);
    });

    it("roll back everything on throw and rethrow the same error", async () => {
      const boom = new Error("boom");
      await expect(
        db.transaction(async (tx) => {
          await tx.query("INSERT INTO notes (body) VALUES ('r1')");
          await tx.query("UPDATE counter SET n = n + 1000 WHERE id = 1");
          throw boom;
        }),
      ).rejects.toBe(boom);
      const notes = await db.query<{ c: number }>("SELECT count(*) AS c FROM notes WHERE body = 'r1'");
      expect(notes.rows[0]?.c).toBe(0);
      const counter = await db.query<{ n: number }>("SELECT n FROM counter WHERE id = 1");
      expect(counter.rows[0]?.n).toBe(0);
    });

    it("roll back when an SQL error is swallowed inside the callback", async () => {
      await expect(
        db.transaction(async (tx) => {
          await tx.query("INSERT INTO notes (body) VALUES ('s1')");
          await tx.query("SELECT * FROM no_such_table").catch(() => undefined);
          return "looks fine";
        }),
      ).rejects.toThrow();
      const { rows } = await db.query<{ c: number }>("SELECT count(*) AS c FROM notes WHERE body = 's1'");
      expect(rows[0]?.c).toBe(0);
    });

    it("run statements sent unawaited in the order issued, and commit them with the transaction", async () => {
      const seen = await db.transaction(async (tx) => {
        tx.send("INSERT INTO notes (body) VALUES ($1)", ["sent-1"]);
        tx.send("UPDATE notes SET body = $2 WHERE body = $1", ["sent-1", "sent-2"]);
        // A query waits for what was sent before it, and sees it.
        const { rows } = await tx.query<{ body: string }>("SELECT body FROM notes WHERE body LIKE 'sent-%'");
        tx.send("INSERT INTO notes (body) VALUES ($1)", ["sent-3"]);
        return rows.map((r) => r.body);
      });
      expect(seen).toEqual(["sent-2"]);
      const { rows } = await db.query<{ body: string }>(
        "SELECT body FROM notes WHERE body LIKE 'sent-%' ORDER BY id",
      );
      expect(rows.map((r) => r.body)).toEqual(["sent-2", "sent-3"]);
    });

    it("roll everything back when a statement sent unawaited fails, and reject with its error", async () => {
      const failure = await db
        .transaction(async (tx) => {
          await tx.query("INSERT INTO notes (body) VALUES ('before-failed-send')");
          tx.send("INSERT INTO no_such_table VALUES ($1)", ["x"]);
          tx.send("INSERT INTO notes (body) VALUES ('after-failed-send')");
          return "looks fine";
        })
        .then(
          () => undefined,
          (err: unknown) => err as Error,
        );
      expect(failure?.message).toMatch(/no_such_table/);
      const { rows } = await db.query<{ c: number }>(
        "SELECT count(*) AS c FROM notes WHERE body LIKE '%failed-send'",
      );
      expect(rows[0]?.c).toBe(0);
    });

    it("reject with the sent statement's error, not the 25P02 a query awaited after it met", async () => {
      const failure = await db
        .transaction(async (tx) => {
          tx.send("INSERT INTO no_such_table VALUES ($1)", ["x"]);
          await tx.query("SELECT 1");
          return "not reached";
        })
        .then(
          () => undefined,
          (err: unknown) => err as Error & { code?: string },
        );
      expect([failure?.code, failure?.message]).toEqual(["42P01", expect.stringMatching(/no_such_table/)]);
      // A body's own error stays its own.
      const own = await db
        .transaction(async (tx) => {
          await tx.query("SELECT 1");
          throw new Error("the body's own");
        })
        .then(
          () => undefined,
          (err: unknown) => err as Error,
        );
      expect(own?.message).toBe("the body's own");
    });

    it("refuse to send a parameter that is not plain, or after the body returned, before sending anything", async () => {
      await expect(
        db.transaction(async (tx) => {
          tx.send("INSERT INTO notes (body) VALUES ('plain-first')");
          tx.send("INSERT INTO kv (k, at) VALUES ($1, $2)", ["not-plain", new Date() as unknown as string]);
        }),
      ).rejects.toThrow(/parameter \$2 is object; only text, numbers, booleans and null/);
      const { rows } = await db.query<{ c: number }>(
        "SELECT (SELECT count(*) FROM notes WHERE body = 'plain-first') + (SELECT count(*) FROM kv WHERE k = 'not-plain') AS c",
      );
      expect(rows[0]?.c).toBe(0);
      let escaped: Transaction | undefined;
      await db.transaction(async (tx) => {
        escaped = tx;
      });
      expect(() => escaped?.send("INSERT INTO notes (body) VALUES ('too-late')")).toThrow(
        /Transaction is closed/,
      );
    });

    it("keep the order statements were issued in, queried or sent, even when a query is not awaited", async () => {
      const order = await db.transaction(async (tx) => {
        const first = tx.query("INSERT INTO notes (body) VALUES ('order-query')");
        tx.send("INSERT INTO notes (body) VALUES ('order-send')");
        await first;
        const { rows } = await tx.query<{ body: string }>(
          "SELECT body FROM notes WHERE body LIKE 'order-%' ORDER BY id",
        );
        return rows.map((r) => r.body);
      });
      expect(order).toEqual(["order-query", "order-send"]);
    });

    it("run afterCommit hooks once committed, never on a rollback, whatever a hook throws", async () => {
      const ran: string[] = [];
      await db.transaction(async (tx) => {
        tx.afterCommit(() => {
          throw new Error("a hook's own failure");
        });
        tx.afterCommit(() => ran.push("committed"));
        tx.send("INSERT INTO notes (body) VALUES ('hooked')");
        expect(ran).toEqual([]);
      });
      expect(ran).toEqual(["committed"]);
      await db
        .transaction(async (tx) => {
          tx.afterCommit(() => ran.push("rolled back"));
          tx.send("INSERT INTO no_such_table VALUES (1)");
        })
        .catch(() => undefined);
      await db
        .transaction(async (tx) => {
          tx.afterCommit(() => ran.push("thrown"));
          throw new Error("the body failed");
        })
        .catch(() => undefined);
      expect(ran).toEqual(["committed"]);
    });

    it.runIf(harness.kind === "postgres")(
      "commit with no answer read by this process: the statements sent and the COMMIT go out together",
      async () => {
        let bodyReturned!: () => void;
        const returned = new Promise<void>((resolve) => {
          bodyReturned = resolve;
        });
        const committed = db.transaction(async (tx) => {
          // Its answer comes half a second later, long after this process has stopped reading.
          tx.send("INSERT INTO notes (body) SELECT $1::text FROM pg_sleep(0.5)", ["sent-while-blocked"]);
          bodyReturned();
        });
        await returned;
        // The COMMIT is written behind the statement without waiting for its answer.
        await new Promise((r) => setImmediate(r));
        // Meanwhile this process stands still: the server commits on its own, or not at all.
        const rows = queryWhileThisProcessIsBlocked(
          { databaseUrl: target.databaseUrl ?? "", schema: target.schema ?? "" },
          "SELECT count(*) = 1 AS committed FROM notes WHERE body = 'sent-while-blocked'",
        );
        expect(rows).toEqual([{ committed: true }]);
        await committed;
      },
    );

    it("keep uncommitted rows invisible to concurrent queries", async () => {
      const writer = db.transaction(async (tx) => {
        await tx.query("INSERT INTO notes (body) VALUES ('u1')");
        await new Promise((r) => setTimeout(r, 50));
        throw new Error("abort");
      });
      // Handled from the start: on a loaded machine the writer may fail before the reader returns.
      const writerFailure = writer.then(
        () => undefined,
        (err: unknown) => err,
      );
      await new Promise((r) => setTimeout(r, 10));
      const reader = await db.query<{ c: number }>("SELECT count(*) AS c FROM notes WHERE body = 'u1'");
      expect(await writerFailure).toEqual(new Error("abort"));
      expect(reader.rows[0]?.c).toBe(0);
    });

    it("serialise 50 concurrent read-modify-write transactions exactly", async () => {
      await db.query("UPDATE counter SET n = 0 WHERE id = 1");
      await Promise.all(
        Array.from({ length: 50 }, () =>
          db.transaction(async (tx) => {
            const { rows } = await tx.query<{ n: number }>("SELECT n FROM counter WHERE id = 1 FOR UPDATE");
            await new Promise((r) => setImmediate(r)); // invite interleaving
            await tx.query("UPDATE counter SET n = $1 WHERE id = 1", [(rows[0]?.n ?? 0) + 1]);
          }),
        ),
      );
      const { rows } = await db.query<{ n: number }>("SELECT n FROM counter WHERE id = 1");
      expect(rows[0]?.n).toBe(50);
    });

    it("refuse db.query inside a transaction instead of deadlocking", async () => {
      await expect(db.transaction(() => db.query("SELECT 1"))).rejects.toThrow(/use the tx argument/);
      await expect(db.transaction(() => db.transaction(async () => 1))).rejects.toThrow(
        /use the tx argument/,
      );
      // A tx used after its transaction ended is refused too.
      let leaked: { query: Database["query"] } | undefined;
      await db.transaction(async (tx) => {
        leaked = tx;
      });
      await expect(leaked?.query("SELECT 1")).rejects.toThrow(/closed/);
      expect((await db.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    });

    it("map types the same way", async () => {
      const at = new Date("2024-05-06T07:08:09.123Z");
      await db.query("INSERT INTO kv (k, v, at, d, big, amount) VALUES ($1, $2, $3, $4, $5, $6)", [
        "a",
        JSON.stringify([1, "two", { three: null }]),
        at,
        "2024-02-29",
        9_007_199_254_740_991n,
        "12.50",
      ]);
      await db.query("INSERT INTO kv (k, v) VALUES ($1, $2)", ["b", { nested: { ok: true }, list: [1, 2] }]);
      const { rows } = await db.query("SELECT * FROM kv ORDER BY k");
      expect(rows[0]).toEqual({
        k: "a",
        v: [1, "two", { three: null }],
        at,
        d: "2024-02-29",
        big: 9_007_199_254_740_991,
        amount: "12.50",
      });
      expect(rows[0]?.at).toBeInstanceOf(Date);
      expect(rows[1]?.v).toEqual({ nested: { ok: true }, list: [1, 2] });

      const agg = await db.query(
        "SELECT count(*) AS c, sum(n) AS s, now() AS ts, ARRAY[1, 2]::int8[] AS arr, 2::int2 AS small FROM counter",
      );
      expect(agg.rows[0]).toMatchObject({ c: 1, s: 50, arr: [1, 2], small: 2 });
      expect(agg.rows[0]?.ts).toBeInstanceOf(Date);

      await expect(db.query("SELECT 9007199254740993::int8 AS x")).rejects.toThrow(/safe integer range/);
      expect((await db.query("SELECT 9007199254740993::int8::text AS x")).rows[0]?.x).toBe(
        "9007199254740993",
      );
      expect((await db.query("SELECT $1::text IS NULL AS n", [null])).rows[0]?.n).toBe(true);
    });

    it("ping returns the round-trip in milliseconds", async () => {
      const ms = await db.ping();
      expect(typeof ms).toBe("number");
      expect(Number.isFinite(ms)).toBe(true);
      expect(ms).toBeGreaterThanOrEqual(0);
    });
  });

  it("close is idempotent", { timeout: 60_000 }, async () => {
    const db = await open(await harness.freshTarget(), []);
    await db.close();
    await db.close();
  });
}
