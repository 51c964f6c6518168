import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe } from "vitest";
import { databaseContract } from "./database.contract.js";

describe("PGlite back end", () => {
  const dirs: string[] = [];
  databaseContract(() => ({
    kind: "pglite",
    async freshTarget() {
      const dir = await mkdtemp(join(tmpdir(), "kit-db-"));
      dirs.push(dir);
      return { dataDir: dir };
    },
    async cleanup() {
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    },
  }));
});
