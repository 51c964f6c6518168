import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { acquireDataDirLock } from "./data-dir-lock.js";
import { hasEmbeddedPostgres } from "./embedded/embedded-postgres.js";
import { useEmbeddedCluster } from "./embedded/shared-cluster.js";
import { applyMigrations, type ScriptRunner, validateMigrations } from "./migrate.js";
import { openPgDatabase } from "./pg-database.js";
import { parseDatabaseUrl } from "./redact.js";
import { toSchemaName } from "./schema-name.js";
import type { Database, DatabaseLogger, Migration } from "./types.js";

export interface OpenDatabaseOptions {
  /** Service name, e.g. "mcp-server": names the PGlite directory and the PostgreSQL schema. */
  service: string;
  /** Root for embedded data; the database lives in `join(dataDir, service)`. */
  dataDir: string;
  /** When set, use this PostgreSQL server instead of PGlite. */
  databaseUrl?: string;
  /** Overrides the PostgreSQL schema derived from `service` (tests use unique schemas). */
  schema?: string;
  migrations: readonly Migration[];
  logger?: DatabaseLogger;
  /**
   * Open an existing database for reading only (`npm run audit -- --verify`): no migration, no
   * schema or directory created, and every statement in a read-only transaction
   * (`default_transaction_read_only`), so a checking tool cannot change what it checks.
   */
  readOnly?: boolean;
  /**
   * Whether a cluster of the stack's embedded PostgreSQL in `dataDir` is used (default true).
   * False with `STACK_DATABASE=pglite`, and when `npm start` fell back to PGlite: the runner's choice
   * holds for every process, whatever the directory holds.
   */
  embeddedPostgres?: boolean;
}

/**
 * Opens the service's database and brings its schema up to date before returning, so a service never
 * serves requests against a half-migrated schema.
 *
 * - no `databaseUrl`, and `dataDir` holds the stack's embedded PostgreSQL (`npm start` made it):
 *   the service's schema there, on the running stack's server or on one started for this process
 *   until the last database of it is closed;
 * - no `databaseUrl` otherwise: PGlite persisted in `join(dataDir, service)` (directories are created), held
 *   with the lock file `join(dataDir, service + ".lock")` until `close()`: PGlite serves one process,
 *   so a second open — another process, or this one — rejects with `DataDirLockedError`;
 * - `databaseUrl`: a bounded `pg.Pool` whose connections all use the schema `toSchemaName(schema ??
 *   service)`, created if missing (one schema per service, docs/architecture.md, "Data").
 *
 * Rejects (and releases everything it opened, the lock included) when the embedded database is
 * locked (`DataDirLockedError`), when the database is unreachable, within 5 s on PostgreSQL, with a
 * message naming the server but not its password, or when a migration fails (`MigrationError`,
 * naming the migration id; that migration is rolled back, earlier ones stay).
 */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(opts.service)) {
    // The service name becomes a directory: keep it from escaping dataDir.
    throw new Error(`invalid service name ${JSON.stringify(opts.service)} (letters, digits, - and _ only)`);
  }
  validateMigrations(opts.migrations);
  let db: Database & ScriptRunner;
  let target: object;
  let lockKey: string;
  if (opts.databaseUrl !== undefined && opts.databaseUrl !== "") {
    const schema = toSchemaName(opts.schema ?? opts.service);
    db = await openPgDatabase(opts.databaseUrl, schema, opts.logger, { readOnly: opts.readOnly === true });
    target = { url: parseDatabaseUrl(opts.databaseUrl).redacted, schema };
    lockKey = schema;
  } else if (opts.embeddedPostgres !== false && opts.dataDir !== "" && hasEmbeddedPostgres(opts.dataDir)) {
    // The stack's embedded PostgreSQL holds this DATA_DIR's data: a tool, or a service started on
    // its own, uses it too (the running stack's server, or one started for this process).
    const schema = toSchemaName(opts.schema ?? opts.service);
    db = await openOnEmbeddedCluster(opts.dataDir, schema, opts);
    target = { embedded: resolve(opts.dataDir, "postgres"), schema };
    lockKey = schema;
  } else {
    if (opts.dataDir === "") throw new Error("dataDir is required for the embedded database");
    const dir = resolve(opts.dataDir, opts.service);
    if (opts.readOnly && !existsSync(dir)) throw new Error(`no database in ${dir}`);
    db = await openLockedPglite(opts.dataDir, opts.service, dir);
    target = { dir };
    lockKey = "public";
  }
  try {
    if (opts.readOnly) {
      // One session on PGlite: the setting holds for every later statement. (On PostgreSQL the pool
      // sets it on every connection it opens.)
      if (db.kind === "pglite") await db.query("SET default_transaction_read_only = on");
      return db;
    }
    const applied = await applyMigrations(db, opts.migrations, { lockKey, logger: opts.logger });
    // `service` is not repeated here: loggers carry it already (the kit logger's `base`).
    opts.logger?.info({ kind: db.kind, ...target, migrationsApplied: applied.length }, "database ready");
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}

/** The service's schema on the embedded cluster of `dataDir`; `close()` gives the cluster back. */
async function openOnEmbeddedCluster(
  dataDir: string,
  schema: string,
  opts: OpenDatabaseOptions,
): Promise<Database & ScriptRunner> {
  const cluster = await useEmbeddedCluster(dataDir, opts.logger);
  let db: Database & ScriptRunner;
  try {
    db = await openPgDatabase(cluster.url, schema, opts.logger, { readOnly: opts.readOnly === true });
  } catch (err) {
    await cluster.release();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    ...db,
    close() {
      closing ??= db.close().finally(() => cluster.release());
      return closing;
    },
  };
}

/** PGlite in `dir`, opened only once the service's lock is ours; `close()` gives the lock back. */
async function openLockedPglite(
  dataDir: string,
  service: string,
  dir: string,
): Promise<Database & ScriptRunner> {
  const lock = await acquireDataDirLock(dataDir, service);
  let db: Database & ScriptRunner;
  try {
    // Loaded only where PGlite is used: a process on PostgreSQL (every service of a default
    // `npm start`, the runner) never holds its JavaScript (docs/performance.md, "Idle memory of `npm start`").
    const { openPgliteDatabase } = await import("./pglite-database.js");
    db = await openPgliteDatabase(dir);
  } catch (err) {
    await lock.release();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    ...db,
    close() {
      closing ??= db.close().finally(() => lock.release());
      return closing;
    },
  };
}
