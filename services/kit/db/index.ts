export { DataDirLockedError, dataDirLockPath } from "./data-dir-lock.js";
export type {
  Database,
  DatabaseLogger,
  Migration,
  OpenDatabaseOptions,
  Queryable,
  QueryResult,
} from "./database.js";
export { openDatabase } from "./database.js";
export type { ListenFn, Listening, ListenOptions } from "./listen.js";
export { MigrationError } from "./migrate.js";
export { openServiceDatabase } from "./open-service-database.js";
export { parseDatabaseUrl, removeKnownSecrets } from "./redact.js";
export { toSchemaName } from "./schema-name.js";
