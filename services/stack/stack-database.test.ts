import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "#kit/config/index.js";
import { stackDatabase } from "./stack-database.js";

/** What `npm start` gives its services as a database (docs/architecture.md, "Data"). */
const dirs: string[] = [];
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), "stack-db-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const decide = (env: Record<string, string>) => stackDatabase(parseConfig(env), env);

describe("the stack's database", () => {
  it("is the embedded PostgreSQL of a fresh DATA_DIR, on its socket", () => {
    const dataDir = fresh();
    const db = decide({ DATA_DIR: dataDir });
    expect(db).toMatchObject({ kind: "embedded-postgres" });
    expect(db.kind === "embedded-postgres" && db.url).toContain(
      encodeURIComponent(join(dataDir, "postgres")),
    );
  });

  it("is DATABASE_URL's server when set, as a variable or a file", () => {
    expect(decide({ DATA_DIR: fresh(), DATABASE_URL: "postgres://u@db:5432/app" }).kind).toBe("external");
    const file = join(fresh(), "database-url");
    writeFileSync(file, "postgres://u:secret@db:5432/app\n");
    expect(decide({ DATA_DIR: fresh(), DATABASE_URL_FILE: file }).kind).toBe("external");
  });

  it("is PGlite when asked, and keeps an earlier version's PGlite data, saying so", () => {
    expect(decide({ DATA_DIR: fresh(), STACK_DATABASE: "pglite" })).toEqual({ kind: "pglite" });
    const dataDir = fresh();
    mkdirSync(join(dataDir, "identity"));
    writeFileSync(join(dataDir, "identity", "PG_VERSION"), "17\n");
    const db = decide({ DATA_DIR: dataDir });
    expect(db.kind).toBe("pglite");
    expect(db.note).toMatch(/holds PGlite databases \(identity\) from an earlier version/);
  });

  it.skipIf(process.getuid?.() !== 0)(
    "under root, is PGlite with the reason when PostgreSQL's own user cannot reach DATA_DIR",
    () => {
      // mkdtemp makes it 0700: nobody but root may enter it, so not the server's user either.
      const privateParent = fresh();
      const db = decide({ DATA_DIR: join(privateParent, "data") });
      expect(db.kind).toBe("pglite");
      expect(db.note).toContain(`may not enter ${privateParent} on the way to`);
    },
  );
});
