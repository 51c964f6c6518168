import { mkdir, open, readFile, rm } from "node:fs/promises";
import { resolve } from "node:path";

// Lock files this process holds, so a second open in the same process is refused too.
const heldHere = new Set<string>();

/** Held while a process has the service's embedded database open. */
export interface DataDirLock {
  readonly path: string;
  release(): Promise<void>;
}

/** Another live process holds the lock. */
export class DataDirLockedError extends Error {
  override readonly name = "DataDirLockedError";
}

/**
 * PGlite has no cross-process locking: two processes opening the same directory corrupt it (tried:
 * the next open aborts). The chat process and the `rotate-keys` command both take this pid lock
 * file beside the database directory before opening it, so the second one refuses instead.
 * A lock left by a process that no longer exists is taken over — including one naming our own pid
 * that we don't hold: in a restarted container the new process often gets the old one's pid.
 */
export async function acquireDataDirLock(dataDir: string, service: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true });
  const path = resolve(dataDir, `${service}.lock`);
  if (heldHere.has(path)) {
    throw new DataDirLockedError(
      `${path} is already held by this process: the embedded database is open here`,
    );
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      heldHere.add(path);
      let released = false;
      return {
        path,
        async release() {
          if (released) return;
          released = true;
          heldHere.delete(path);
          await rm(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new DataDirLockedError(
          `${path} is held by running process ${holder}: the embedded database allows one process at a time`,
        );
      }
      await rm(path, { force: true });
    }
  }
  throw new DataDirLockedError(`could not take ${path}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
