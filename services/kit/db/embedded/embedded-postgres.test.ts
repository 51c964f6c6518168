import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { DataDirLockedError } from "../data-dir-lock.js";
import { openDatabase } from "../open-database.js";
import { embeddedPostgresDir, hasEmbeddedPostgres, startEmbeddedPostgres } from "./embedded-postgres.js";
import { EmbeddedPostgresUnavailableError } from "./postgres-binaries.js";

/**
 * The stack's embedded PostgreSQL (docs/architecture.md, "Data"): a real server in DATA_DIR/postgres
 * on a Unix socket, owned by one process at a time, gone with its owner, shared by a process's tools.
 */
const dirs: string[] = [];
const freshDataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "embedded-pg-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const logger = { info: () => undefined, warn: () => undefined, debug: () => undefined };

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const serverPid = (dataDir: string) =>
  Number.parseInt(
    readFileSync(join(embeddedPostgresDir(dataDir), "postmaster.pid"), "utf8").split("\n")[0] ?? "",
    10,
  );

/** The process group of `pid` (/proc/<pid>/stat, the field after the parent's pid). */
const processGroupOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
};

async function until(check: () => boolean, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return check();
}

describe("embedded PostgreSQL", { timeout: 120_000 }, () => {
  it("initialises once, serves its socket only, keeps data across restarts, and is one owner's at a time", async () => {
    const dataDir = freshDataDir();
    expect(hasEmbeddedPostgres(dataDir)).toBe(false);
    const first = await startEmbeddedPostgres({ dataDir, logger });
    expect(hasEmbeddedPostgres(dataDir)).toBe(true);
    const [settings] = await query(
      first.url,
      "SELECT current_setting('listen_addresses') AS listen, current_setting('unix_socket_permissions') AS perms",
    );
    expect(settings).toEqual({ listen: "", perms: "0700" });
    // A process group of its own: a terminal's Ctrl-C to its owner's group never reaches the server
    // under services still draining (docs/architecture.md, "Processes").
    expect(processGroupOf(first.pid)).toBe(first.pid);
    expect(processGroupOf(first.pid)).not.toBe(processGroupOf(process.pid));
    await query(first.url, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('across restarts')");

    // A second owner (another stack on this DATA_DIR) is refused while the first holds it.
    const second = await startEmbeddedPostgres({ dataDir, logger }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(DataDirLockedError);

    await first.stop();
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(join(dataDir, "postgres.lock"))).toBe(false);

    const again = await startEmbeddedPostgres({ dataDir, logger });
    try {
      expect(await query(again.url, "SELECT v FROM kept")).toEqual([{ v: "across restarts" }]);
    } finally {
      await again.stop();
    }
  });

  it("that cannot be initialised says why in one error a restart would not fix, and releases its lock", async () => {
    const dataDir = freshDataDir();
    // Something else's files where the cluster would go: initdb refuses a non-empty directory.
    mkdirSync(embeddedPostgresDir(dataDir));
    writeFileSync(join(embeddedPostgresDir(dataDir), "notes.txt"), "not a database");
    const err = await startEmbeddedPostgres({ dataDir, logger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbeddedPostgresUnavailableError);
    expect((err as Error).message).toMatch(/could not be initialised in .*postgres \(.*not empty.*\)/);
    expect(existsSync(join(dataDir, "postgres.lock"))).toBe(false);
  });

  it.skipIf(process.getuid?.() !== 0)(
    "under root, refuses a cluster root made (its server runs as postgres), in one error naming both",
    async () => {
      const dataDir = freshDataDir();
      mkdirSync(embeddedPostgresDir(dataDir));
      writeFileSync(join(embeddedPostgresDir(dataDir), "PG_VERSION"), "18\n");
      const err = await startEmbeddedPostgres({ dataDir, logger }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EmbeddedPostgresUnavailableError);
      expect((err as Error).message).toMatch(/belongs to uid 0, but its server would run as uid \d+/);
      expect(existsSync(join(dataDir, "postgres.lock"))).toBe(false);
    },
  );

  it("goes down with its owner killed -9, and the next owner starts on the same data", async () => {
    const dataDir = freshDataDir();
    // The owner: a process of its own that starts the server and waits.
    const owner = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "-e",
        `import("${new URL("./embedded-postgres.ts", import.meta.url).pathname}").then(async (m) => {
          const s = await m.startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, logger: { info() {}, warn() {}, debug() {} } });
          console.log("ready " + s.pid);
          setInterval(() => {}, 1000);
        })`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    owner.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
    });
    expect(await until(() => out.includes("ready "), 90_000)).toBe(true);
    const pid = serverPid(dataDir);
    expect(alive(pid)).toBe(true);

    owner.kill("SIGKILL");
    expect(await until(() => !alive(pid))).toBe(true);

    const next = await startEmbeddedPostgres({ dataDir, logger });
    try {
      expect(await query(next.url, "SELECT 1 AS one")).toEqual([{ one: 1 }]);
    } finally {
      await next.stop();
    }
  });

  it("is what openDatabase uses for a DATA_DIR that holds it: one server for a process's databases, stopped after the last", async () => {
    const dataDir = freshDataDir();
    await (await startEmbeddedPostgres({ dataDir, logger })).stop();
    const migrations = [{ id: "0001_t", sql: "CREATE TABLE t (v int)" }];
    const a = await openDatabase({ service: "identity", dataDir, migrations });
    const b = await openDatabase({ service: "chat", dataDir, migrations });
    expect(a.kind).toBe("postgres");
    const pid = serverPid(dataDir);
    await a.query("INSERT INTO t VALUES (1)");
    // Each service in its own schema.
    expect((await b.query("SELECT count(*)::int AS n FROM t")).rows).toEqual([{ n: 0 }]);
    await a.close();
    expect(alive(pid)).toBe(true);
    await b.close();
    expect(await until(() => !alive(pid))).toBe(true);
    expect(existsSync(join(dataDir, "postgres.lock"))).toBe(false);
    // No PGlite directory was made beside it.
    expect(existsSync(join(dataDir, "identity"))).toBe(false);
  });
});
