import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Database, openDatabase } from "../../../kit/db/index.js";
import { OIDC_MIGRATIONS } from "../storage/oidc-migrations.js";

/** A migrated database of its own, and how to throw it away. */
export interface TestDatabase {
  readonly db: Database;
  close(): Promise<void>;
}

export interface TestBackend {
  readonly name: "pglite" | "postgres";
  open(): Promise<TestDatabase>;
}

/** Embedded PGlite in a fresh temporary DATA_DIR, removed on close. */
const pglite: TestBackend = {
  name: "pglite",
  async open() {
    const dataDir = await mkdtemp(join(tmpdir(), "oidc-storage-"));
    try {
      const db = await openDatabase({ service: "identity", dataDir, migrations: OIDC_MIGRATIONS });
      return {
        db,
        async close() {
          await db.close();
          await rm(dataDir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      await rm(dataDir, { recursive: true, force: true });
      throw err;
    }
  },
};

/** The PostgreSQL at `databaseUrl`, in a unique schema dropped on close. */
const postgres = (databaseUrl: string): TestBackend => ({
  name: "postgres",
  async open() {
    const schema = `oidc_test_${randomBytes(6).toString("hex")}`;
    const db = await openDatabase({
      service: "identity",
      dataDir: "",
      databaseUrl,
      schema,
      migrations: OIDC_MIGRATIONS,
    });
    return {
      db,
      async close() {
        try {
          await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await db.close();
        }
      },
    };
  },
});

/** PGlite always; the PostgreSQL of `DATABASE_URL` too when it is set (as in CI). */
export function testBackends(): TestBackend[] {
  const databaseUrl = process.env.DATABASE_URL;
  return databaseUrl ? [pglite, postgres(databaseUrl)] : [pglite];
}
