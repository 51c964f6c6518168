import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { resolve } from "node:path";

// Lock files this process holds (or is taking), so a second open in the same process is refused too.
const heldHere = new Set<string>();

/** Held while a process has a service's embedded database open. */
export interface DataDirLock {
  readonly path: string;
  /** Removes the lock file. Idempotent. */
  release(): Promise<void>;
}

/** Another live process (or this one) already has the embedded database open. */
export class DataDirLockedError extends Error {
  override readonly name = "DataDirLockedError";
  constructor(
    message: string,
    /** The lock file. */
    readonly path: string,
    /** The pid recorded in it, when known (this process's own pid for a second open here). */
    readonly holderPid: number | undefined,
  ) {
    super(message);
  }
}

/** `DATA_DIR/<service>.lock`, beside the service's database directory. */
export function dataDirLockPath(dataDir: string, service: string): string {
  return resolve(dataDir, `${service}.lock`);
}

/**
 * PGlite has no cross-process locking: two processes opening the same directory corrupt it (tried:
 * the next open aborts). `openDatabase` takes this pid lock file beside the database directory
 * before opening PGlite and removes it on `close()`, so a second server or a CLI refuses instead.
 *
 * The file appears atomically with its pid in it (written aside, then hard-linked into place, which
 * fails if it exists), so two processes racing for it cannot both win and nobody reads it half
 * written. A lock left by a process that no longer exists is taken over — including one naming our
 * own pid that we don't hold: in a restarted container the new process often gets the old one's pid.
 * Taking over (removing the stale file) happens under a second lock, `<lock>.takeover`, and re-checks
 * the holder there: otherwise one contender could remove the lock another had just taken.
 */
export async function acquireDataDirLock(dataDir: string, service: string): Promise<DataDirLock> {
  const path = dataDirLockPath(dataDir, service);
  // Checked and marked before any await: two opens racing inside one process must not both pass.
  if (heldHere.has(path)) {
    throw new DataDirLockedError(
      `${path} is already held by this process: the embedded database is open here`,
      path,
      process.pid,
    );
  }
  heldHere.add(path);
  try {
    await mkdir(dataDir, { recursive: true });
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (await createWithPid(path)) return heldLock(path);
      const holder = await readPid(path);
      if (isOtherLiveProcess(holder)) {
        throw new DataDirLockedError(
          `${path} is held by running process ${holder}: the embedded database allows one process at a time`,
          path,
          holder,
        );
      }
      await removeStale(path);
    }
    throw new DataDirLockedError(`could not take ${path}`, path, undefined);
  } catch (err) {
    heldHere.delete(path);
    throw err;
  }
}

/** Enough for a contender taking over a stale lock (milliseconds) to finish while we wait. */
const MAX_ATTEMPTS = 100;
const RETRY_MS = 20;

function heldLock(path: string): DataDirLock {
  // Every caller waits for the one removal: a second caller returning early could let its process
  // exit with the file still there.
  let releasing: Promise<void> | undefined;
  return {
    path,
    release() {
      releasing ??= rm(path, { force: true }).then(() => {
        heldHere.delete(path);
      });
      return releasing;
    },
  };
}

/** Creates `path` containing our pid; false if it already exists. */
async function createWithPid(path: string): Promise<boolean> {
  const temp = `${path}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(temp, `${process.pid}\n`, { flag: "wx" });
  try {
    await link(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
}

/** Removes the lock at `path` if, checked again under the takeover lock, its holder is gone. */
async function removeStale(path: string): Promise<void> {
  const guard = `${path}.takeover`;
  if (!(await createWithPid(guard))) {
    const holder = await readHolder(guard);
    if (holder !== ABSENT && !isOtherLiveProcess(holder)) {
      // Left by a process that died while taking over.
      await rm(guard, { force: true });
    } else {
      // Another contender is taking over right now — or just finished and removed the guard: look
      // again shortly. Removing a guard that was already gone would remove the next contender's,
      // letting two take over and both win.
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
    return;
  }
  try {
    // Only a stale lock (a dead holder, or garbage) is removed: one already gone must not be
    // "removed" again, or the lock a new winner created in the meantime would go with it.
    const holder = await readHolder(path);
    if (holder !== ABSENT && !isOtherLiveProcess(holder)) await rm(path, { force: true });
  } finally {
    await rm(guard, { force: true });
  }
}

async function readPid(path: string): Promise<number | undefined> {
  const holder = await readHolder(path);
  return holder === ABSENT ? undefined : holder;
}

/** No such file (as opposed to a file without a readable pid, which is garbage: stale). */
const ABSENT = Symbol("absent");

/** The pid in a lock file; undefined for garbage; ABSENT when there is no file. */
async function readHolder(path: string): Promise<number | undefined | typeof ABSENT> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return ABSENT;
    throw err;
  }
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Whether `pid` names a running process other than this one. Our own pid in a lock file we are
 * taking is an earlier incarnation's (this process marks what it holds or is taking in `heldHere`).
 */
function isOtherLiveProcess(pid: number | undefined): pid is number {
  return pid !== undefined && pid !== process.pid && isAlive(pid);
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
