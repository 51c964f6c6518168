import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "./open-database.js";
import { forgetStatementNames, MAX_NAMED_STATEMENTS, pgStatement } from "./pg-statement.js";
import type { Database } from "./types.js";

/** Set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run against a real server. */
const databaseUrl = process.env.DATABASE_URL;

describe("pgStatement", () => {
  it("names a statement with parameters by its text, and leaves one without them to the simple protocol", () => {
    const a = pgStatement("SELECT $1::int AS n", [1]);
    expect(a.name).toMatch(/^support_ext_\d+_\d+$/);
    expect(pgStatement("SELECT $1::int AS n", [2]).name).toBe(a.name);
    expect(pgStatement("SELECT $1::text AS n", ["x"]).name).not.toBe(a.name);
    for (const params of [undefined, []]) {
      expect(pgStatement("CREATE TABLE t (a int); INSERT INTO t VALUES (1)", params)).toEqual({
        text: "CREATE TABLE t (a int); INSERT INTO t VALUES (1)",
      });
    }
  });

  it("names at most MAX_NAMED_STATEMENTS texts; the rest run unnamed", () => {
    try {
      const named = Array.from({ length: MAX_NAMED_STATEMENTS + 10 }, (_, i) =>
        pgStatement(`SELECT $1::int + ${i}`, [1]),
      );
      expect(named.filter((s) => s.name !== undefined).length).toBeLessThanOrEqual(MAX_NAMED_STATEMENTS);
      expect(named.at(-1)?.name).toBeUndefined();
      expect(named.at(-1)?.values).toEqual([1]);
    } finally {
      // The names are the process's: leave room for the other files of this worker.
      forgetStatementNames();
    }
  });
});

describe.skipIf(!databaseUrl)("prepared statements on PostgreSQL", () => {
  const url = databaseUrl ?? "";
  const schema = `kit_stmt_test_${randomBytes(6).toString("hex")}`;
  const open = () =>
    openDatabase({
      service: "stmt",
      dataDir: "",
      databaseUrl: url,
      schema,
      migrations: [{ id: "0001_t", sql: "CREATE TABLE t (a int); INSERT INTO t VALUES (1)" }],
    });
  const backend = async (db: Database) =>
    (await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid;

  afterAll(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => client.end());
  });

  it("parses a statement once per connection, then only binds and executes it", async () => {
    const db = await open();
    try {
      const sql = "SELECT a FROM t WHERE a = $1";
      const prepared = await db.transaction(async (tx) => {
        for (let i = 0; i < 3; i++) expect((await tx.query(sql, [1])).rows).toEqual([{ a: 1 }]);
        const { rows } = await tx.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1",
          [sql],
        );
        return rows[0]?.n;
      });
      expect(prepared).toBe(1);
    } finally {
      await db.close();
    }
  });

  it("a column's type changed under a prepared statement: a lone query is prepared again on a new connection and answers", async () => {
    const db = await open();
    try {
      const sql = "SELECT a FROM t WHERE a = $1";
      expect((await db.query(sql, [1])).rows).toEqual([{ a: 1 }]);
      // What a migration run by another replica does; the pool hands the same idle connection back.
      const before = await backend(db);
      await db.query("ALTER TABLE t ALTER COLUMN a TYPE bigint");
      expect(await backend(db)).toBe(before);
      expect((await db.query(sql, [1])).rows).toEqual([{ a: 1 }]);
      // The connection that met the refusal was destroyed, not handed back.
      expect(await backend(db)).not.toBe(before);
      // The refusal it answers: the same sequence on a bare connection, told by its routine.
      const bare = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
      await bare.connect();
      try {
        await bare.query({ name: "probe", text: sql, values: [1] });
        await bare.query("ALTER TABLE t ALTER COLUMN a TYPE int");
        await expect(bare.query({ name: "probe", text: sql, values: [1] })).rejects.toMatchObject({
          code: "0A000",
          routine: "RevalidateCachedQuery",
        });
      } finally {
        await bare.end();
      }
      // Inside a transaction it cannot be repeated (its body may have done other work): that one
      // fails, the next one prepares afresh.
      const inTransaction = () => db.transaction(async (tx) => (await tx.query(sql, [1])).rows);
      await expect(inTransaction()).rejects.toMatchObject({ code: "0A000" });
      expect(await inTransaction()).toEqual([{ a: 1 }]);
    } finally {
      await db.close();
    }
  });

  it("a value that fails to convert inside a transaction leaves no connection that lost its statement", async () => {
    const db = await open();
    try {
      const sql = "SELECT $1::jsonb AS j";
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      // node-postgres sends the statement's Parse, then fails converting the value and closes the
      // statement on the server: the connection is destroyed rather than reused (its record of
      // prepared statements would name one the server no longer has: 26000 on every later use).
      await expect(db.transaction((tx) => tx.query(sql, [circular]))).rejects.toThrow(/circular/i);
      for (let i = 0; i < 3; i++) expect((await db.query(sql, [{ n: i }])).rows).toEqual([{ j: { n: i } }]);
      await db.transaction(async (tx) => {
        expect((await tx.query(sql, [{ n: 9 }])).rows).toEqual([{ j: { n: 9 } }]);
      });
      // And when the body catches that error itself, the connection is destroyed all the same.
      const before = await backend(db);
      await db.transaction(async (tx) => {
        await tx.query(sql, [circular]).catch(() => undefined);
      });
      expect(await backend(db)).not.toBe(before);
      expect((await db.query(sql, [{ n: 1 }])).rows).toEqual([{ j: { n: 1 } }]);
    } finally {
      await db.close();
    }
  });
});
