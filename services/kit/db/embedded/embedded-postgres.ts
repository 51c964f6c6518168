import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import pg from "pg";
import { withoutSecrets } from "../../config/secret-files.js";
import { acquireDataDirLock, type DataDirLock } from "../data-dir-lock.js";
import { EmbeddedPostgresUnavailableError, postgresBinaries } from "./postgres-binaries.js";

/** Where the embedded cluster lives: `DATA_DIR/postgres` (its socket too). */
export function embeddedPostgresDir(dataDir: string): string {
  return resolve(dataDir, EMBEDDED_POSTGRES);
}

/** Whether `dataDir` holds an embedded PostgreSQL cluster (initialised once by the stack). */
export function hasEmbeddedPostgres(dataDir: string): boolean {
  return existsSync(join(embeddedPostgresDir(dataDir), "PG_VERSION"));
}

/**
 * The connection URL of the embedded cluster in `dataDir`: its Unix socket, in a directory only its
 * owner can enter (no TCP port at all, so nothing else on the host can reach it, and two stacks on
 * one machine never compete for a port). Each service keeps its own schema there.
 */
export function embeddedPostgresUrl(dataDir: string): string {
  return `postgres://${SUPERUSER}@localhost/postgres?host=${encodeURIComponent(embeddedPostgresDir(dataDir))}`;
}

export interface EmbeddedPostgresLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface RunningEmbeddedPostgres {
  readonly url: string;
  readonly pid: number;
  /** Resolves when the server exits, whoever stopped it (its exit code or signal). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** A fast shutdown (every session rolled back, data flushed), then the lock is released. */
  stop(): Promise<void>;
}

/**
 * Starts the PostgreSQL server of `DATA_DIR/postgres` as a child of this process (docs/architecture.md,
 * "Data"): `initdb` on first use, then `postgres` listening on a Unix socket only. One process
 * owns a cluster at a time: `DATA_DIR/postgres.lock` is held until `stop()`, so a second stack on the
 * same directory is refused with `DataDirLockedError`, like every embedded database. A server left
 * running by an owner that was killed (-9: no chance to stop it) is shut down before starting again.
 *
 * PostgreSQL refuses to run as root: under root the server runs as the `postgres` user (or `nobody`),
 * which then owns `DATA_DIR/postgres`.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  logger: EmbeddedPostgresLogger;
  /** How long initdb plus start-up may take (default 60 s: a busy machine). */
  timeoutMs?: number;
}): Promise<RunningEmbeddedPostgres> {
  const { dataDir, logger } = options;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const binaries = postgresBinaries();
  const dir = embeddedPostgresDir(dataDir);
  const unreachable = embeddedPostgresUnreachable(dataDir);
  if (unreachable) throw new EmbeddedPostgresUnavailableError(unreachable);
  const lock = await acquireDataDirLock(dataDir, EMBEDDED_POSTGRES);
  try {
    const owner = serverUser();
    prepareDirectory(dataDir, dir, owner);
    await stopOrphan(dir, logger);
    if (!existsSync(join(dir, "PG_VERSION"))) {
      const started = Date.now();
      try {
        await runDetached(
          binaries.initdb,
          ["-D", dir, "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions"],
          owner,
          timeoutMs,
        );
      } catch (err) {
        // A restart cannot fix this (missing libraries, a full disk, a directory it may not write).
        const said = errorLine(String((err as { stderr?: unknown }).stderr ?? "")) || (err as Error).message;
        throw new EmbeddedPostgresUnavailableError(
          `the embedded PostgreSQL could not be initialised in ${dir} (${said}): reinstall with npm ci, or set DATABASE_URL to a PostgreSQL server`,
        );
      }
      logger.info({ dir, initdb_ms: Date.now() - started }, "embedded PostgreSQL initialised");
    }
    const serverArgs = ["-D", dir, ...SERVER_SETTINGS.flatMap((s) => ["-c", s])];
    const [command, args] = withParentDeathSignal(binaries.postgres, serverArgs);
    const child = spawn(command, args, {
      ...owner,
      env: serverEnv(),
      stdio: ["ignore", "ignore", "pipe"],
      // A process group of its own: a terminal's Ctrl-C (or Ctrl-Z) reaches the stack's runner, not
      // the server under the services still draining; its owner stops it last (docs/architecture.md,
      // "Processes"), and the parent-death signal covers an owner that dies.
      detached: true,
    });
    const lastSaid = relayServerLog(child, logger);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.once("exit", (code, signal) => done({ code, signal })),
    );
    const url = embeddedPostgresUrl(dataDir);
    await untilAccepting(url, exited, timeoutMs, lastSaid);
    logger.info({ dir, pid: child.pid }, "embedded PostgreSQL ready");
    return runningServer(child, exited, url, lock);
  } catch (err) {
    await lock.release();
    throw err;
  }
}

const EMBEDDED_POSTGRES = "postgres";
const SUPERUSER = "postgres";
/** Only names the socket file: `listen_addresses` is empty, so no TCP port is opened. */
const PORT = 5432;
/** sun_path is 108 bytes on Linux, including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/**
 * A small footprint for one stack's five schemas (docs/architecture.md, "Data"); durability as any
 * PostgreSQL (fsync on, full WAL). The socket lives in the data directory, which only its owner
 * may enter, and is itself owner-only: trust authentication then admits only that user (and root).
 */
const SERVER_SETTINGS = [
  "listen_addresses=",
  `port=${PORT}`,
  "unix_socket_directories=.",
  "unix_socket_permissions=0700",
  "shared_buffers=16MB",
  "max_connections=100",
  "max_wal_size=256MB",
  // PostgreSQL 18 reads and writes through I/O worker processes (3 by default). A laptop's stack
  // fits in shared buffers and the page cache, so each backend does its own I/O (`sync`, the
  // pre-18 behaviour) and no worker process idles beside it. No logical replication here: without
  // workers for it, its launcher process is not started.
  "io_method=sync",
  "max_logical_replication_workers=0",
  "logging_collector=off",
  "log_min_messages=warning",
] as const;

/**
 * Where util-linux's `setpriv` is (Linux), the server gets SIGINT — a fast shutdown — the moment
 * this process dies, however it died (kill -9 included), so no server outlives its owner. Elsewhere
 * the next start stops a server left behind (`stopOrphan`).
 */
function withParentDeathSignal(program: string, args: readonly string[]): [string, string[]] {
  const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));
  return setpriv ? [setpriv, ["--pdeathsig", "INT", "--", program, ...args]] : [program, [...args]];
}

/**
 * Runs a PostgreSQL tool (initdb) to its end without blocking the event loop, in a process group
 * of its own (a terminal's Ctrl-C never cuts it short: the owner decides), killed after `timeoutMs`.
 * Rejects with its stderr on a non-zero exit.
 */
function runDetached(
  program: string,
  args: readonly string[],
  owner: { uid?: number; gid?: number },
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      ...owner,
      env: serverEnv(),
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
    });
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      if (stderr.length < 64 * 1024) stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(Object.assign(err, { stderr }));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else {
        const how = signal ? `killed by ${signal}` : `exit ${code}`;
        reject(Object.assign(new Error(`${program} failed (${how})`), { stderr }));
      }
    });
  });
}

/** English, untranslated server messages whatever the machine's locale (they are relayed to our log). */
/** The server's environment: the process's, less every secret of the product (it needs none). */
function serverEnv(): NodeJS.ProcessEnv {
  return { ...withoutSecrets(process.env), LC_ALL: "C", LANG: "C" };
}

/** Under root, the user the server runs as (PostgreSQL refuses root); otherwise this process's user. */
function serverUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  // Only a user of its own: under a shared one (nobody), every process running as that user could
  // enter the directory and connect as superuser.
  try {
    const uid = Number(execFileSync("id", ["-u", SUPERUSER], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", SUPERUSER], { encoding: "utf8" }).trim());
    if (Number.isInteger(uid) && uid > 0) return { uid, gid };
  } catch {
    // No such user.
  }
  throw new EmbeddedPostgresUnavailableError(
    "the embedded PostgreSQL cannot run as root and there is no postgres user to run it as: run as another user, create a postgres user, or set DATABASE_URL to a PostgreSQL server",
  );
}

/**
 * Why the server could not reach `DATA_DIR/postgres`, or undefined when it can. Only under root does
 * the server run as another user (PostgreSQL refuses root), which needs search permission on every
 * directory above DATA_DIR; those are never changed for it (a private home directory stays
 * private): the stack uses PGlite instead and says why (docs/architecture.md, "Data").
 */
export function embeddedPostgresUnreachable(dataDir: string): string | undefined {
  const tooLong = socketPathProblem(embeddedPostgresDir(dataDir));
  if (tooLong) return tooLong;
  if (process.getuid?.() !== 0) return undefined;
  let owner: { uid?: number; gid?: number };
  try {
    owner = serverUser();
  } catch (err) {
    return (err as Error).message;
  }
  const { uid, gid } = owner;
  if (uid === undefined || gid === undefined) return undefined;
  for (let dir = dirname(resolve(dataDir)); ; dir = dirname(dir)) {
    if (existsSync(dir)) {
      const st = statSync(dir);
      const bit = st.uid === uid ? 0o100 : st.gid === gid ? 0o010 : 0o001;
      if ((st.mode & bit) === 0) {
        return `the embedded PostgreSQL runs as uid ${uid} (it refuses root), which may not enter ${dir} on the way to ${resolve(dataDir)}: choose a DATA_DIR it can reach, run as another user, or set DATABASE_URL`;
      }
    }
    if (dir === dirname(dir)) return undefined;
  }
}

/** Why the socket in `dir` cannot exist (a path longer than Unix sockets allow), if it cannot. */
function socketPathProblem(dir: string): string | undefined {
  const socket = join(dir, `.s.PGSQL.${PORT}`);
  if (Buffer.byteLength(socket) <= MAX_SOCKET_PATH) return undefined;
  return `the embedded PostgreSQL's socket path ${socket} is longer than the ${MAX_SOCKET_PATH} bytes Unix sockets allow: use a shorter DATA_DIR, or set DATABASE_URL to a PostgreSQL server`;
}

/** `dir` exists, is the server user's and owner-only; under root, DATA_DIR lets that user through. */
function prepareDirectory(dataDir: string, dir: string, owner: { uid?: number; gid?: number }): void {
  // A cluster made by another user (as root, then as a user, or the reverse): PostgreSQL would
  // refuse its files, and changing their owner is not ours to do.
  const made = join(dir, "PG_VERSION");
  const uid = owner.uid ?? process.getuid?.();
  if (uid !== undefined && existsSync(made) && statSync(made).uid !== uid) {
    throw new EmbeddedPostgresUnavailableError(
      `${dir} belongs to uid ${statSync(made).uid}, but its server would run as uid ${uid}: start the stack as the user that created it, use another DATA_DIR, or set DATABASE_URL`,
    );
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  if (owner.uid === undefined || owner.gid === undefined) return;
  if (statSync(dir).uid !== owner.uid) chownSync(dir, owner.uid, owner.gid);
  // The server user must reach its directory through DATA_DIR (a fresh temp directory is 0700):
  // search permission only, never reading the other services' files.
  const mode = statSync(dataDir).mode;
  if ((mode & 0o001) === 0) chmodSync(dataDir, (mode & 0o7777) | 0o001);
}

/**
 * A server whose owner was killed (this process holds the lock now, so nobody owns it) would make
 * `postgres` refuse to start; it is asked to shut down fast and waited for.
 */
async function stopOrphan(dir: string, logger: EmbeddedPostgresLogger): Promise<void> {
  const pidFile = join(dir, "postmaster.pid");
  if (!existsSync(pidFile)) return;
  const pid = Number.parseInt(readFileSync(pidFile, "utf8").split("\n")[0] ?? "", 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isPostgresOf(pid, dir)) return;
  logger.warn({ pid }, "stopping the embedded PostgreSQL left running by a stopped stack");
  try {
    process.kill(pid, "SIGINT");
  } catch {
    return;
  }
  const deadline = Date.now() + 30_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
}

/** Whether `pid` is a postgres server of `dir` (a pid file can outlive its process, and pids are reused). */
function isPostgresOf(pid: number, dir: string): boolean {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    // The program itself (argv[0]), not any argument: `-D …/postgres` ends the same way.
    return (args[0] ?? "").endsWith("/bin/postgres") && args.includes(dir);
  } catch {
    // No /proc (macOS) or no such process: alive and signalable is the best evidence left.
    return isAlive(pid) && process.platform !== "linux";
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The line of `text` that says what went wrong (PostgreSQL adds hints after it), else its last. */
function errorLine(text: string): string {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.findLast((l) => /\b(error|FATAL|PANIC)\b/i.test(l)) ?? lines.at(-1) ?? "";
}

/** The last non-empty line of `text`. */
function lastLine(text: string): string {
  return (
    text
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? ""
  );
}

/**
 * The server's stderr, line by line, into our log: problems at warn, the rest at debug. Returns
 * what it said last (why it exited, when it did).
 */
function relayServerLog(child: ChildProcess, logger: EmbeddedPostgresLogger): () => string {
  let pending = "";
  let last = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      if (line.trim() === "") continue;
      last = line.trim();
      // Our own readiness probe meets "starting up" refusals: expected, not a problem.
      const probe = line.includes("the database system is starting up");
      if (!probe && /\b(WARNING|ERROR|FATAL|PANIC):/.test(line))
        logger.warn({ postgres: line }, "embedded PostgreSQL said");
      else logger.debug({ postgres: line }, "embedded PostgreSQL said");
    }
  });
  return () => lastLine(`${last}\n${pending}`);
}

/** Polls a connection until the server accepts it; rejects if it exits first or after `timeoutMs`. */
async function untilAccepting(
  url: string,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  timeoutMs: number,
  lastSaid: () => string,
): Promise<void> {
  let gone: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((e) => {
    gone = e;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone) {
      // It refused to run (libraries, permissions, a damaged data directory): a restart would too.
      throw new EmbeddedPostgresUnavailableError(
        `the embedded PostgreSQL exited while starting (code ${gone.code}, signal ${gone.signal}: ${lastSaid() || "no message"}): reinstall with npm ci, or set DATABASE_URL to a PostgreSQL server`,
      );
    }
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query("SELECT 1");
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`the embedded PostgreSQL did not accept connections within ${timeoutMs} ms`, {
          cause: err,
        });
      }
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

function runningServer(
  child: ChildProcess,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  url: string,
  lock: DataDirLock,
): RunningEmbeddedPostgres {
  let stopping: Promise<void> | undefined;
  void exited.then(() => lock.release());
  return {
    url,
    pid: child.pid ?? 0,
    exited,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          // SIGINT = "fast" shutdown: sessions rolled back, a checkpoint written, then exit.
          child.kill("SIGINT");
          const slow = setTimeout(() => child.kill("SIGQUIT"), 30_000);
          await exited;
          clearTimeout(slow);
        }
        await lock.release();
      })();
      return stopping;
    },
  };
}
