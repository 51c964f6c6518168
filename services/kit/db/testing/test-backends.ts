import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Database, type Migration, openDatabase } from "../index.js";

/** A migrated database of its own, and how to throw it away. */
export interface TestDatabase {
  readonly db: Database;
  /** On PostgreSQL: where it is, for a spec's connection from another process. */
  readonly server?: { readonly databaseUrl: string; readonly schema: string };
  close(): Promise<void>;
}

export interface TestBackend {
  readonly name: "pglite" | "postgres";
  open(): Promise<TestDatabase>;
}

/** Which service's database, with which migrations (each test gets a fresh one). */
interface Schema {
  readonly service: string;
  readonly migrations: readonly Migration[];
}

/** Embedded PGlite in a fresh temporary DATA_DIR, removed on close. */
const pglite = ({ service, migrations }: Schema): TestBackend => ({
  name: "pglite",
  async open() {
    const dataDir = await mkdtemp(join(tmpdir(), `${service}-test-`));
    try {
      const db = await openDatabase({ service, dataDir, migrations });
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
});

/** The PostgreSQL at `databaseUrl`, in a unique schema dropped on close. */
const postgres = (databaseUrl: string, { service, migrations }: Schema): TestBackend => ({
  name: "postgres",
  async open() {
    const schema = `${service.replace(/\W/g, "_")}_test_${randomBytes(6).toString("hex")}`;
    const db = await openDatabase({ service, dataDir: "", databaseUrl, schema, migrations });
    return {
      db,
      server: { databaseUrl, schema },
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
export function testBackends(service: string, migrations: readonly Migration[]): TestBackend[] {
  const databaseUrl = process.env.DATABASE_URL;
  const schema = { service, migrations };
  return databaseUrl ? [pglite(schema), postgres(databaseUrl, schema)] : [pglite(schema)];
}
