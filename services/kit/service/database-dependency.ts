import type { Database } from "../db/types.js";
import { checkedDependency, type Dependency } from "../server/dependency.js";

/**
 * The service's database as a health dependency (`/readyz` names it `database`): `SELECT 1` when
 * the health is asked (an answer at most 1 s old is reused), failed when it has not answered within
 * 2 s — shorter than the pool's 5 s connect timeout, so a PostgreSQL that accepts no connection
 * counts as down, and than a probe's 3 s, so the probe hears why. Not on a timer: an idle service nobody probes lets its pooled connection close
 * (`pg-pool.ts`, 10 s idle) instead of holding a PostgreSQL server process open to answer no one.
 * PGlite, in process, answers while open.
 */
export function databaseDependency(db: Pick<Database, "ping">): Dependency {
  return checkedDependency("database", () => db.ping());
}
