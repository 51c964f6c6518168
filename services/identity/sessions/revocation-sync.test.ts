import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import type { Config } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import { captureLogs } from "#kit/testing/log-capture.js";
import { openIdentityDatabase } from "../data/open-identity-database.js";
import { createRevocationList, type RevocationList } from "./revocation-list.js";
import { type RevocationSync, startRevocationSync } from "./revocation-sync.js";
import { createSessionRevoker } from "./session-revoker.js";
import { createSessionStore, type SessionStore } from "./session-store.js";

/**
 * How identity replicas learn each other's revocations: NOTIFY with the UPDATE, LISTEN on a dedicated
 * connection, a reload after a lost LISTEN connection — and no polling (the table is read at start
 * and after a reconnect only; counted here).
 */

const RETENTION_MS = 15 * 60_000;

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The store, counting what the sync reads from the table. */
function counted(store: SessionStore) {
  const reads = { revokedSince: 0, revocationOf: 0 };
  const wrapped: SessionStore = {
    ...store,
    revokedSince: (since) => {
      reads.revokedSince++;
      return store.revokedSince(since);
    },
    revocationOf: (id) => {
      reads.revocationOf++;
      return store.revocationOf(id);
    },
  };
  return { store: wrapped, reads };
}

interface Replica {
  db: Database;
  store: SessionStore;
  reads: { revokedSince: number; revocationOf: number };
  list: RevocationList;
  sync: RevocationSync;
  revoke: ReturnType<typeof createSessionRevoker>;
}

async function replica(config: Pick<Config, "DATA_DIR" | "DATABASE_URL">, schema?: string): Promise<Replica> {
  const logs = captureLogs("identity");
  const db = await openIdentityDatabase(config, { logger: logs.logger, schema });
  const { store, reads } = counted(createSessionStore(db));
  const list = createRevocationList(RETENTION_MS);
  const sync = await startRevocationSync({ db, store, list, logger: logs.logger, retentionMs: RETENTION_MS });
  return { db, store, reads, list, sync, revoke: createSessionRevoker(store, list) };
}

async function newSession(db: Database): Promise<string> {
  const userId = randomUUID();
  await db.query("INSERT INTO users (id, email, password_hash) VALUES ($1, $2, 'x')", [
    userId,
    `${userId}@test`,
  ]);
  const sessionId = randomUUID();
  await createSessionStore(db).openForGrant(sessionId, userId, new Date(Date.now() + 3_600_000));
  return sessionId;
}

describe("revocation sync on PGlite (one process, in-process LISTEN)", { timeout: 90_000 }, () => {
  it("loads at start, takes its own revocations from memory, and hears a revocation written by SQL", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "identity-sync-"));
    const r = await replica({ DATA_DIR: dataDir, DATABASE_URL: undefined });
    try {
      const own = await newSession(r.db);
      await r.revoke(own, "logout");
      expect(r.list.has(own)).toBe(true);
      // Its own NOTIFY arrives too, and costs nothing: the session is in the list already.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(r.reads.revocationOf).toBe(0);

      // Any other writer (there is none on PGlite but this process; a script, say) is heard too.
      const other = await newSession(r.db);
      await r.store.revoke(other, "admin");
      await waitFor(() => r.list.has(other));
      expect(r.list.entries().find((e) => e.sessionId === other)?.reason).toBe("admin");
      expect(r.reads.revokedSince).toBe(1); // the start-up load only

      await r.sync.stop();
      await r.db.close();
      const again = await replica({ DATA_DIR: dataDir, DATABASE_URL: undefined });
      expect(again.list.has(own) && again.list.has(other)).toBe(true); // loaded at start
      await again.sync.stop();
      await again.db.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

const databaseUrl = process.env.DATABASE_URL || undefined;

describe.skipIf(!databaseUrl)("revocation sync between replicas on PostgreSQL", { timeout: 60_000 }, () => {
  const url = databaseUrl ?? "";
  const schema = `identity_sync_${randomBytes(6).toString("hex")}`;
  const config = { DATA_DIR: "", DATABASE_URL: url };
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  afterAll(() => admin((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)));

  it("pushes A's revocations to B without polling, ignores other schemas', and reloads what a lost LISTEN missed", async () => {
    const a = await replica(config, schema);
    const b = await replica(config, schema);
    try {
      const samples: number[] = [];
      for (let i = 0; i < 10; i++) {
        const sid = await newSession(a.db);
        const started = performance.now();
        await a.revoke(sid, "logout");
        await waitFor(() => b.list.has(sid));
        samples.push(performance.now() - started);
      }
      console.log(
        `revoke on A → B's list (NOTIFY): max ${Math.max(...samples).toFixed(2)} ms over ${samples.length}`,
      );
      expect(b.reads.revokedSince).toBe(1); // start-up load only: pushed, not polled

      // Another schema's session id on the shared channel: looked up here, not found, ignored.
      const foreign = randomUUID();
      await admin((c) => c.query("SELECT pg_notify('session_revoked', $1)", [foreign]));
      await waitFor(() => b.reads.revocationOf >= 11);
      expect(b.list.has(foreign)).toBe(false);

      // A revocation B could not hear (committed with no NOTIFY, as if B's connection were down
      // then), and B's LISTEN connection lost: B reloads from the table when it is back.
      const missed = await newSession(a.db);
      await a.db.query("UPDATE sessions SET revoked_at = now(), revoke_reason = 'admin' WHERE id = $1", [
        missed,
      ]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(b.list.has(missed)).toBe(false);
      // Both replicas' LISTEN connections carry this name; both are cut, B's is the one watched.
      await admin((c) =>
        c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [
          `support-ext:${schema}:listen`,
        ]),
      );
      await waitFor(() => b.list.has(missed));
      expect(b.reads.revokedSince).toBe(2);
      expect(b.list.entries().find((e) => e.sessionId === missed)?.reason).toBe("admin");

      // And NOTIFY works again on the new connection.
      const after = await newSession(a.db);
      await a.revoke(after, "user_gone");
      await waitFor(() => b.list.has(after));
    } finally {
      await a.sync.stop();
      await b.sync.stop();
      await a.db.close();
      await b.db.close();
    }
  });
});
