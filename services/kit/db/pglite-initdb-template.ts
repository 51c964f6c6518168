import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { PGlite } from "@electric-sql/pglite";

/**
 * What PGlite's initdb writes into a new data directory, as the tarball `dumpDataDir` makes: no schema,
 * no data, only the cluster PostgreSQL itself needs.
 *
 * initdb runs in WebAssembly on every new directory and costs about 3 s of CPU; loading the same files
 * from the tarball costs about 0.9 s (docs/performance.md, "Embedded PGlite: a new database"). Every
 * whole-stack test opens several new databases, so the tarball is made once per PGlite version, kept in
 * `node_modules/.cache/`, and shared by every process. Where that directory cannot be written, each process
 * keeps its own copy in memory.
 */
const pgliteEntry = createRequire(import.meta.url).resolve("@electric-sql/pglite");
const pglitePackageDir = dirname(dirname(pgliteEntry));
const pgliteVersion = (
  JSON.parse(readFileSync(join(pglitePackageDir, "package.json"), "utf8")) as { version: string }
).version;
const cacheDir = join(dirname(dirname(pglitePackageDir)), ".cache", "support-ext");

/** Where one template is kept, and how to get it or throw it away. */
export interface InitdbTemplate {
  /** The tarball: from the cache file, or made (and cached) now. */
  get(): Promise<Blob>;
  /** After PGlite refused it: the next database makes a new one. */
  discard(): Promise<void>;
}

export function initdbTemplateAt(path: string): InitdbTemplate {
  let template: Promise<Blob> | undefined;
  return {
    get() {
      template ??= loadOrMake(path).catch((err: unknown) => {
        template = undefined;
        throw err;
      });
      return template;
    },
    async discard() {
      template = undefined;
      await rm(path, { force: true });
    },
  };
}

/** The one every process of this install shares. */
export const sharedInitdbTemplate = initdbTemplateAt(join(cacheDir, `pglite-${pgliteVersion}-initdb.tar`));

/** True when `dir` holds nothing yet (missing or empty): a new database, which the template can seed. */
export async function isNewDataDir(dir: string): Promise<boolean> {
  const entries = await readdir(dir).catch(() => []);
  return entries.length === 0;
}

async function loadOrMake(path: string): Promise<Blob> {
  const cached = await readFile(path).catch(() => undefined);
  if (cached) return new Blob([cached]);
  const fresh = await PGlite.create();
  try {
    const dump = await fresh.dumpDataDir("none");
    await keep(path, dump);
    return dump;
  } finally {
    await fresh.close();
  }
}

/** Written under a unique name then renamed, so a concurrent reader sees the whole file or none. */
async function keep(path: string, dump: Blob): Promise<void> {
  const partial = `${path}.${randomBytes(6).toString("hex")}.partial`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
    await rename(partial, path);
  } catch {
    // A read-only install: this process keeps the template in memory only.
    await rm(partial, { force: true }).catch(() => undefined);
  }
}
