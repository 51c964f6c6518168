import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "./open-database.js";
import type { Database } from "./types.js";

/** `Database.listen` on both back ends: delivery on commit only, close, and (PostgreSQL) reconnection. */

const migrations = [{ id: "0001_t", sql: "CREATE TABLE t (x int)" }];

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const settle = () => new Promise((r) => setTimeout(r, 100));

describe("Database.listen on PGlite (in process)", () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it("delivers committed notifications only, and nothing after close", { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "kit-listen-"));
    dirs.push(dir);
    const db = await openDatabase({ service: "listen-test", dataDir: dir, migrations });
    try {
      const got: string[] = [];
      const listening = await db.listen?.("events", (p) => got.push(p));
      expect(listening).toBeDefined();
      await db.query("SELECT pg_notify('events', 'one')");
      await db.transaction(async (tx) => {
        await tx.query("SELECT pg_notify('events', 'two')");
      });
      await db
        .transaction(async (tx) => {
          await tx.query("SELECT pg_notify('events', 'rolled back')");
          throw new Error("abort");
        })
        .catch(() => undefined);
      await db.query("SELECT pg_notify('other', 'elsewhere')");
      await waitFor(() => got.length >= 2);
      await settle();
      expect(got).toEqual(["one", "two"]);

      await listening?.close();
      await listening?.close(); // idempotent
      await db.query("SELECT pg_notify('events', 'late')");
      await settle();
      expect(got).toEqual(["one", "two"]);
      await expect(db.listen?.("Bad-Name; DROP TABLE t", () => undefined)).rejects.toThrow(
        /invalid LISTEN channel/,
      );
    } finally {
      await db.close();
    }
  });
});

const databaseUrl = process.env.DATABASE_URL;

describe.skipIf(!databaseUrl)("Database.listen on PostgreSQL (dedicated connection)", () => {
  const url = databaseUrl ?? "";
  const schema = `kit_listen_${randomBytes(6).toString("hex")}`;
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  const listenBackends = () =>
    admin(async (c) => {
      const { rows } = await c.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
        [`support-ext:${schema}:listen`],
      );
      return rows.map((r) => r.pid);
    });
  afterAll(() => admin((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)));

  const open = () =>
    openDatabase({ service: "listen-test", dataDir: "", databaseUrl: url, schema, migrations });

  it("delivers another process's committed notifications; survives a killed connection; close ends it", async () => {
    const listener = await open();
    const writer: Database = await open();
    try {
      const got: string[] = [];
      let reconnected = 0;
      // A unique channel: other test files share this server and its notification namespace.
      const channel = `ch_${randomBytes(4).toString("hex")}`;
      await listener.listen?.(channel, (p) => got.push(p), { onReconnected: () => reconnected++ });
      await writer.query("SELECT pg_notify($1, 'a')", [channel]);
      await writer
        .transaction(async (tx) => {
          await tx.query("SELECT pg_notify($1, 'rolled back')", [channel]);
          throw new Error("abort");
        })
        .catch(() => undefined);
      await waitFor(() => got.length === 1);
      expect(got).toEqual(["a"]);

      // The server ends the listening session: it comes back by itself and says it was away.
      const [pid] = await listenBackends();
      expect(pid).toBeDefined();
      await admin((c) => c.query("SELECT pg_terminate_backend($1)", [pid]));
      await waitFor(() => reconnected === 1);
      const pids = await listenBackends();
      expect(pids).toHaveLength(1);
      expect(pids[0]).not.toBe(pid);
      await writer.query("SELECT pg_notify($1, 'b')", [channel]);
      await waitFor(() => got.length === 2);
      expect(got).toEqual(["a", "b"]);
    } finally {
      await listener.close();
      await writer.close();
    }
    // db.close() ended the dedicated connection too: it does not outlive the pool.
    await settle();
    expect(await listenBackends()).toEqual([]);
  });
});
