import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPgliteDatabase } from "./pglite-database.js";
import { initdbTemplateAt, isNewDataDir } from "./pglite-initdb-template.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "initdb-template-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every relation initdb makes, by name: a database from the template must hold exactly these. */
async function catalog(query: (sql: string) => Promise<{ rows: unknown[] }>): Promise<string[]> {
  const { rows } = await query("SELECT relname FROM pg_class ORDER BY relname");
  return (rows as { relname: string }[]).map((r) => r.relname);
}

// Two initdb runs in WebAssembly (the template, and the reference): minutes on a busy 2-core machine.
describe("the initdb template", { timeout: 180_000 }, () => {
  it("is made once, kept in its file, and seeds a database with exactly the catalog initdb makes", async () => {
    const path = join(root, "cache", "initdb.tar");
    const template = initdbTemplateAt(path);
    const first = await template.get();
    expect(existsSync(path)).toBe(true);
    expect((await readFile(path)).byteLength).toBe(first?.size);
    // Read from the file each time, never held between databases.
    const again = await template.get();
    expect(again).not.toBe(first);
    expect(again?.size).toBe(first?.size);

    // The reference is made by initdb itself: a damaged template file is thrown away and initdb runs.
    const damaged = join(root, "damaged.tar");
    await writeFile(damaged, "not a tarball of a PostgreSQL cluster");
    const byInitdb = await openPgliteDatabase(join(root, "after-damage"), initdbTemplateAt(damaged));
    const fromTemplate = await openPgliteDatabase(join(root, "seeded"), template);
    try {
      expect(existsSync(damaged)).toBe(false);
      expect(await catalog((sql) => fromTemplate.query(sql))).toEqual(
        await catalog((sql) => byInitdb.query(sql)),
      );
    } finally {
      await fromTemplate.close();
      await byInitdb.close();
    }
  });

  it("a database seeded from it keeps what is written across a reopen, which does not reseed it", async () => {
    const template = initdbTemplateAt(join(root, "cache", "initdb.tar")); // made by the test above
    const dir = join(root, "reopened");
    const db = await openPgliteDatabase(dir, template);
    await db.query("CREATE TABLE kept (x int)");
    await db.query("INSERT INTO kept VALUES (42)");
    await db.close();
    const again = await openPgliteDatabase(dir, template);
    try {
      expect((await again.query<{ x: number }>("SELECT x FROM kept")).rows).toEqual([{ x: 42 }]);
    } finally {
      await again.close();
    }
  });

  it("where its file cannot be written, there is no template (initdb runs as before)", async () => {
    const aFile = join(root, "a-file");
    await writeFile(aFile, "");
    expect(await initdbTemplateAt(join(aFile, "initdb.tar")).get()).toBeUndefined();
    expect(await initdbTemplateAt(undefined).get()).toBeUndefined();
  });

  it("only a missing or empty directory counts as new", async () => {
    expect(await isNewDataDir(join(root, "missing"))).toBe(true);
    expect(await isNewDataDir(join(root, "reopened"))).toBe(false);
    // Anything but "missing" is not taken for new: a directory that is a file.
    await expect(isNewDataDir(join(root, "a-file"))).rejects.toThrow(/ENOTDIR/);
  });
});
