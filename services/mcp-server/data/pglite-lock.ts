import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

/**
 * Embedded PGlite is one process's database: a second process opening the same directory (a second
 * server, or `npm run audit` while the server runs) would corrupt it. This pid file says who has it.
 */
export function lockFilePath(dataDir: string, service: string): string {
  return resolve(dataDir, `${service}.pid`);
}

/** The pid of another live process holding the lock, if any. */
export function lockHolder(dataDir: string, service: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(lockFilePath(dataDir, service), "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: it exists but belongs to someone else, so it is alive.
    return (err as NodeJS.ErrnoException).code === "EPERM" ? pid : undefined;
  }
}

/** Takes the lock (a stale one from a dead process is replaced); throws if a live process holds it. */
export function acquireLock(dataDir: string, service: string): () => void {
  const holder = lockHolder(dataDir, service);
  if (holder !== undefined) {
    throw new Error(
      `the embedded database in ${resolve(dataDir, service)} is in use by process ${holder}; stop it or use another DATA_DIR`,
    );
  }
  const file = lockFilePath(dataDir, service);
  writeFileSync(file, `${process.pid}\n`);
  return () => {
    try {
      if (readFileSync(file, "utf8").trim() === String(process.pid)) rmSync(file);
    } catch {
      // already gone
    }
  };
}
