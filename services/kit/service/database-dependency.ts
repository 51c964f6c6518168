import type { Database } from "../db/types.js";
import { type Dependency, polledDependency } from "../server/dependency.js";

/**
 * The service's database as a health dependency (`/readyz` names it `database`): `SELECT 1` every
 * 5 s, failed when it has not answered within 3 s — shorter than the pool's 5 s connect timeout, so
 * a PostgreSQL that accepts no connection counts as down. PGlite, in process, answers while open.
 */
export function databaseDependency(db: Pick<Database, "ping">): Dependency {
  return polledDependency("database", () => db.ping());
}
