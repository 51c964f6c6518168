import type { DatabaseLogger, Migration, Queryable } from "./types.js";

/** A transaction that can also run a multi-statement script (a migration body). */
export interface ScriptTransaction extends Queryable {
  exec(sql: string): Promise<void>;
}

/** What the migrator needs from a back end. */
export interface ScriptRunner {
  scriptTransaction<T>(fn: (tx: ScriptTransaction) => Promise<T>): Promise<T>;
}

/** Thrown when a migration's SQL fails; its transaction (body and record row) was rolled back. */
export class MigrationError extends Error {
  override readonly name = "MigrationError";
  constructor(
    readonly migrationId: string,
    message: string,
  ) {
    super(`migration "${migrationId}" failed: ${message}`);
  }
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  id text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/**
 * Applies the not-yet-applied migrations in array order, each in its own transaction together with its
 * `schema_migrations` row, so a crash or failure never leaves a half-applied, unrecorded change.
 *
 * Every transaction first takes `pg_advisory_xact_lock` keyed by `lockKey` (the schema): two replicas
 * starting at once serialise, and the one that waited re-checks and skips what the other applied. On
 * PGlite the lock is uncontended but harmless, which keeps one code path.
 *
 * Ids recorded earlier but absent from `migrations` are ignored (old migrations may be squashed away).
 * Returns the ids applied by this call.
 */
export async function applyMigrations(
  db: ScriptRunner,
  migrations: readonly Migration[],
  opts: { lockKey: string; logger?: DatabaseLogger | undefined },
): Promise<string[]> {
  validateMigrations(migrations);
  const lock = (tx: Queryable) =>
    tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
      `support-ext:migrate:${opts.lockKey}`,
    ]);

  const applied = await db.scriptTransaction(async (tx) => {
    await lock(tx);
    await tx.exec(CREATE_TABLE);
    const { rows } = await tx.query<{ id: string }>("SELECT id FROM schema_migrations");
    return new Set(rows.map((r) => r.id));
  });

  const appliedNow: string[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.id)) continue;
    const started = performance.now();
    const didApply = await db.scriptTransaction(async (tx) => {
      await lock(tx);
      // Another replica may have applied it while we waited for the lock.
      const seen = await tx.query("SELECT 1 FROM schema_migrations WHERE id = $1", [migration.id]);
      if (seen.rowCount > 0) return false;
      try {
        await tx.exec(migration.sql);
      } catch (err) {
        throw new MigrationError(migration.id, err instanceof Error ? err.message : String(err));
      }
      await tx.query("INSERT INTO schema_migrations (id, applied_at) VALUES ($1, now())", [migration.id]);
      return true;
    });
    if (didApply) {
      appliedNow.push(migration.id);
      opts.logger?.info(
        { migration: migration.id, ms: Math.round(performance.now() - started) },
        "database migration applied",
      );
    }
  }
  return appliedNow;
}

/** Rejects empty or duplicate ids; called before any database is opened. */
export function validateMigrations(migrations: readonly Migration[]): void {
  const ids = new Set<string>();
  for (const m of migrations) {
    if (typeof m.id !== "string" || m.id.trim() === "") throw new Error("migration with an empty id");
    if (ids.has(m.id)) throw new Error(`duplicate migration id "${m.id}"`);
    ids.add(m.id);
  }
}
