export type {
  Database,
  DatabaseLogger,
  Migration,
  OpenDatabaseOptions,
  Queryable,
  QueryResult,
} from "./database.js";
export { DataDirLockedError, dataDirLockPath } from "./data-dir-lock.js";
export type { Listening, ListenFn, ListenOptions } from "./listen.js";
export { openDatabase } from "./database.js";
export { MigrationError } from "./migrate.js";
export { parseDatabaseUrl, removeKnownSecrets } from "./redact.js";
export { toSchemaName } from "./schema-name.js";
export { openServiceDatabase } from "./open-service-database.js";
