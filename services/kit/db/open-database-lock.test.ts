import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { DataDirLockedError } from "./data-dir-lock.js";
import { openDatabase } from "./open-database.js";
import type { Migration } from "./types.js";

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
const freshDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), "kit-db-lock-"));
  dirs.push(dir);
  return dir;
};

const notes: Migration = { id: "0001_notes", sql: "CREATE TABLE notes (body text)" };

// Fresh PGlite directories run initdb (seconds).
describe("openDatabase on embedded PGlite takes the service's lock", { timeout: 90_000 }, () => {
  it("holds DATA_DIR/<service>.lock until close; a second open is refused without touching the data", async () => {
    const dataDir = await freshDir();
    const lockFile = join(dataDir, "svc.lock");
    const db = await openDatabase({ service: "svc", dataDir, migrations: [notes] });
    try {
      expect(existsSync(lockFile)).toBe(true);
      expect((await readFile(lockFile, "utf8")).trim()).toBe(String(process.pid));
      await db.query("INSERT INTO notes VALUES ('kept')");
      await expect(openDatabase({ service: "svc", dataDir, migrations: [notes] })).rejects.toBeInstanceOf(
        DataDirLockedError,
      );
      // The refused open did not release the holder's lock, and the holder still works.
      expect(existsSync(lockFile)).toBe(true);
      expect((await db.query("SELECT body FROM notes")).rows).toEqual([{ body: "kept" }]);
    } finally {
      await db.close();
    }
    expect(existsSync(lockFile)).toBe(false);
    const again = await openDatabase({ service: "svc", dataDir, migrations: [notes] });
    expect((await again.query("SELECT body FROM notes")).rows).toEqual([{ body: "kept" }]);
    await again.close();
    await again.close();
    expect(existsSync(lockFile)).toBe(false);
  });

  it("releases the lock when a migration fails", async () => {
    const dataDir = await freshDir();
    const bad: Migration = { id: "0002_bad", sql: "SELECT * FROM no_such_table" };
    await expect(openDatabase({ service: "svc", dataDir, migrations: [notes, bad] })).rejects.toThrow(
      /0002_bad/,
    );
    expect(existsSync(join(dataDir, "svc.lock"))).toBe(false);
    await (await openDatabase({ service: "svc", dataDir, migrations: [notes] })).close();
  });

  it("releases the lock when PGlite cannot open", async () => {
    const dataDir = await freshDir();
    // The database directory's place is taken by a file.
    await writeFile(join(dataDir, "svc"), "not a directory");
    await expect(openDatabase({ service: "svc", dataDir, migrations: [] })).rejects.toThrow(
      /cannot open embedded database/,
    );
    expect(existsSync(join(dataDir, "svc.lock"))).toBe(false);
  });
});

describe.skipIf(!process.env.DATABASE_URL)("openDatabase on PostgreSQL", () => {
  it("takes no file lock (the server serves many processes)", async () => {
    const dataDir = await freshDir();
    const schema = `kit_lock_${randomBytes(6).toString("hex")}`;
    const open = () =>
      openDatabase({
        service: "svc",
        dataDir,
        databaseUrl: process.env.DATABASE_URL,
        schema,
        migrations: [],
      });
    const [a, b] = [await open(), await open()];
    try {
      expect(existsSync(join(dataDir, "svc.lock"))).toBe(false);
    } finally {
      await a.close();
      await b.close();
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  });
});
