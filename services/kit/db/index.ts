export { DataDirLockedError, dataDirLockPath } from "./data-dir-lock.js";
export {
  embeddedPostgresUnreachable,
  embeddedPostgresUrl,
  hasEmbeddedPostgres,
  type RunningEmbeddedPostgres,
  startEmbeddedPostgres,
} from "./embedded/embedded-postgres.js";
export { EmbeddedPostgresUnavailableError } from "./embedded/postgres-binaries.js";
export type { ListenFn, Listening, ListenOptions } from "./listen.js";
export { MigrationError } from "./migrate.js";
export type { OpenDatabaseOptions } from "./open-database.js";
export { openDatabase } from "./open-database.js";
export { parseDatabaseUrl, removeKnownSecrets } from "./redact.js";
export { toSchemaName } from "./schema-name.js";
export type {
  Database,
  DatabaseLogger,
  Migration,
  PlainParam,
  Queryable,
  QueryResult,
  Transaction,
} from "./types.js";
