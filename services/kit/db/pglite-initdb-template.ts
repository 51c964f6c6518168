import { randomBytes } from "node:crypto";
import { constants, readFileSync } from "node:fs";
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
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
 * `node_modules/.cache/`, and shared by every process. Where that directory cannot be written (a read-only
 * install), initdb runs as before.
 */

/** `node_modules/.cache/support-ext/pglite-<version>-initdb.tar`, or undefined where PGlite's install is not laid out as npm lays it. */
function sharedTemplatePath(): string | undefined {
  try {
    const pglitePackageDir = dirname(dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite")));
    const { version } = JSON.parse(readFileSync(join(pglitePackageDir, "package.json"), "utf8")) as {
      version: string;
    };
    return join(dirname(dirname(pglitePackageDir)), ".cache", "support-ext", `pglite-${version}-initdb.tar`);
  } catch {
    return undefined;
  }
}

/** Where one template is kept, and how to get it or throw it away. */
export interface InitdbTemplate {
  /**
   * The tarball, read from its file each time (never held in memory between databases), made and
   * written there first if missing; undefined where it cannot be kept (initdb then runs as before:
   * making a template nobody else can use would only add a dump and a load to it).
   */
  get(): Promise<Blob | undefined>;
  /** After PGlite refused it: the next database makes a new one. */
  discard(): Promise<void>;
}

export function initdbTemplateAt(path: string | undefined): InitdbTemplate {
  let making: Promise<Blob | undefined> | undefined;
  let unwritable = path === undefined;
  return {
    async get() {
      if (path === undefined || unwritable) return undefined;
      const cached = await readFile(path).catch(() => undefined);
      if (cached) return new Blob([cached]);
      // Where it could not be kept, making it would cost more than the initdb it saves.
      if (!(await writableDir(dirname(path)))) {
        unwritable = true;
        return undefined;
      }
      // One process makes it once, however many of its databases open at the same time.
      making ??= make(path)
        .then((written) => {
          unwritable = !written;
          return written ? new Blob([written]) : undefined;
        })
        .finally(() => {
          making = undefined;
        });
      return making;
    },
    async discard() {
      if (path !== undefined) await rm(path, { force: true }).catch(() => undefined);
    },
  };
}

/** The one every process of this install shares. */
export const sharedInitdbTemplate = initdbTemplateAt(sharedTemplatePath());

/**
 * True when `dir` holds nothing yet (missing or empty): a new database, which the template can seed.
 * Any other failure to list it is thrown, never taken for "new".
 */
export async function isNewDataDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw err;
  }
}

async function writableDir(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** A fresh cluster's files, written to `path`; undefined when `path` cannot be written. */
async function make(path: string): Promise<Buffer | undefined> {
  const fresh = await PGlite.create();
  try {
    const dump = Buffer.from(await (await fresh.dumpDataDir("none")).arrayBuffer());
    return (await keep(path, dump)) ? dump : undefined;
  } finally {
    await fresh.close();
  }
}

/** Written under a unique name then renamed, so a concurrent reader sees the whole file or none. */
async function keep(path: string, dump: Buffer): Promise<boolean> {
  const partial = `${path}.${randomBytes(6).toString("hex")}.partial`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(partial, dump);
    await rename(partial, path);
    return true;
  } catch {
    await rm(partial, { force: true }).catch(() => undefined);
    return false;
  }
}
