import { randomBytes } from "node:crypto";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { databaseContract } from "./database.contract.js";
import { openDatabase } from "./open-database.js";
import type { Database } from "./types.js";

/** Set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run against a real server. */
const databaseUrl = process.env.DATABASE_URL;

describe("PostgreSQL back end: connection failures (no server needed)", () => {
  it("rejects quickly on an unreachable server without leaking the password", async () => {
    const started = Date.now();
    const err = await openDatabase({
      service: "chat",
      dataDir: "",
      databaseUrl: "postgres://app:p%40ss%3AS3cretWord@127.0.0.1:1/support?password=AlsoS3cret",
      migrations: [],
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(err).toBeInstanceOf(Error);
    expect(err?.message).toMatch(
      /cannot connect to PostgreSQL at postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/support/,
    );
    for (const text of [err?.message, err?.stack, JSON.stringify(err)]) {
      expect(text).not.toContain("S3cretWord");
      expect(text).not.toContain("AlsoS3cret");
    }
  });

  it("rejects a malformed URL without echoing it", async () => {
    const err = await openDatabase({
      service: "chat",
      dataDir: "",
      databaseUrl: "postgres://app:S3cretWord@[not-a-host/db",
      migrations: [],
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/not a valid URL/);
    expect(JSON.stringify(err)).not.toContain("S3cretWord");
    expect(err?.message).not.toContain("S3cretWord");
  });
});

describe.skipIf(!databaseUrl)("PostgreSQL back end", () => {
  const url = databaseUrl ?? "";
  const schemas: string[] = [];
  const freshSchema = () => {
    const schema = `kit_db_test_${randomBytes(6).toString("hex")}`;
    schemas.push(schema);
    return schema;
  };
  const dropSchemas = async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    } finally {
      await client.end();
    }
  };

  databaseContract(() => ({
    kind: "postgres",
    async freshTarget() {
      return { dataDir: "", databaseUrl: url, schema: freshSchema() };
    },
    cleanup: dropSchemas,
  }));

  it("confines each service to its own schema", async () => {
    const migration = { id: "0001_t", sql: "CREATE TABLE t (owner text)" };
    const a = await openDatabase({
      service: "a",
      dataDir: "",
      databaseUrl: url,
      schema: freshSchema(),
      migrations: [migration],
    });
    const b = await openDatabase({
      service: "b",
      dataDir: "",
      databaseUrl: url,
      schema: freshSchema(),
      migrations: [migration],
    });
    try {
      await a.query("INSERT INTO t VALUES ('a')");
      await b.query("INSERT INTO t VALUES ('b')");
      expect((await a.query("SELECT owner FROM t")).rows).toEqual([{ owner: "a" }]);
      expect((await b.query("SELECT owner FROM t")).rows).toEqual([{ owner: "b" }]);
      // Every pooled connection, not only the first, uses the schema.
      const seen = await Promise.all(
        Array.from({ length: 12 }, () =>
          a.transaction(async (tx) => {
            await tx.query("SELECT pg_sleep(0.02)");
            return (await tx.query<{ s: string }>("SELECT current_schema() AS s")).rows[0]?.s;
          }),
        ),
      );
      expect(new Set(seen)).toEqual(new Set([schemas.at(-2)]));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("lets two replicas start together and applies each migration once", async () => {
    const schema = freshSchema();
    const migrations = [
      { id: "0001_a", sql: "CREATE TABLE a (x int); SELECT pg_sleep(0.1)" },
      { id: "0002_b", sql: "CREATE TABLE b (x int)" },
    ];
    const applied: unknown[] = [];
    const logger = {
      info(obj: object, msg: string) {
        if (msg === "database migration applied") applied.push((obj as { migration: string }).migration);
      },
    };
    const replicas = await Promise.all(
      [1, 2].map(() =>
        openDatabase({ service: "race", dataDir: "", databaseUrl: url, schema, migrations, logger }),
      ),
    );
    try {
      expect(applied.sort()).toEqual(["0001_a", "0002_b"]);
      const [first] = replicas;
      const { rows } = await (first as Database).query("SELECT count(*) AS c FROM schema_migrations");
      expect(rows[0]?.c).toBe(2);
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });
});
