import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { type RunningEmbeddedPostgres, startEmbeddedPostgres } from "../db/embedded/embedded-postgres.js";
import { openDatabase } from "../db/open-database.js";
import type { Database } from "../db/types.js";
import type { ServiceServer } from "../server/service-server.js";
import { captureLogs } from "../testing/log-capture.js";
import { startProbeServer } from "../testing/probe-server.js";
import { databaseDependency } from "./database-dependency.js";

/**
 * The `database` dependency on a real PostgreSQL (docs/architecture.md, "Health for orchestrators"):
 * checked when the health is asked, never on a timer, so an idle service lets its pooled connection
 * close; a server killed with SIGKILL is seen by the next `/readyz`, named `database`, and the
 * restarted server by the one after. The embedded PostgreSQL of `npm start`, in a directory of its own.
 */
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const SCHEMA = "readiness_check";

/** The service's own connections to the server, seen from another one. */
async function serviceBackends(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
      [`support-ext:${SCHEMA}`],
    );
    return rows[0]?.n ?? -1;
  } finally {
    await client.end();
  }
}

/** Until `check` holds; the bound is generous (a loaded 2-core host) and never asserted on. */
async function until(check: () => Promise<boolean>, boundMs = 60_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${boundMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the database dependency on a real PostgreSQL", { timeout: 180_000 }, () => {
  it("an idle service holds no connection; a killed server is `database` not ready at the next question; the restarted one ready again", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "readiness-pg-"));
    dirs.push(dataDir);
    let postgres: RunningEmbeddedPostgres = await startEmbeddedPostgres({ dataDir, logger: quiet });
    let db: Database | undefined;
    let server: ServiceServer | undefined;
    try {
      db = await openDatabase({
        service: "readiness",
        schema: SCHEMA,
        dataDir,
        databaseUrl: postgres.url,
        migrations: [],
      });
      const logs = captureLogs("readiness");
      server = await startProbeServer("readiness", logs.logger, [databaseDependency(db)]);
      const readyz = async () => {
        const res = await fetch(`${server?.url}/readyz`);
        return { status: res.status, body: (await res.json()) as object };
      };
      expect(await readyz()).toEqual({ status: 200, body: { status: "ok" } });
      // The check went through the pool: its connection is there, idle.
      expect(await serviceBackends(postgres.url)).toBe(1);

      // Nobody asks: the pool closes its idle connection (10 s) and nothing opens another, though
      // the old poll would have within 5 s.
      await until(async () => (await serviceBackends(postgres.url)) === 0);
      await new Promise((r) => setTimeout(r, 6_000));
      expect(await serviceBackends(postgres.url)).toBe(0);

      process.kill(postgres.pid, "SIGKILL");
      await postgres.exited;
      expect(await readyz()).toEqual({
        status: 503,
        body: { status: "unavailable", not_ready: ["database"] },
      });

      await postgres.stop(); // the data directory's lock, held by this process
      postgres = await startEmbeddedPostgres({ dataDir, logger: quiet });
      await until(async () => (await readyz()).status === 200);
      expect(
        logs
          .records()
          .filter((l) => l.dependency === "database")
          .map((l) => l.msg),
      ).toEqual(["dependency not ready: health NOT_SERVING", "dependency ready again"]);
    } finally {
      await server?.close();
      await db?.close();
      await postgres.stop();
    }
  });
});
