import { DataDirLockedError } from "../db/data-dir-lock.js";
import { EmbeddedPostgresUnavailableError } from "../db/embedded/postgres-binaries.js";
import type { Logger } from "../log/logger.js";

/**
 * The exit code of a service that cannot start for a reason no restart can fix (sysexits.h
 * EX_CONFIG): the runner stops the stack instead of restarting it (docs/architecture.md,
 * "Processes"). A crash after the service was ready is an ordinary exit and is restarted.
 */
export const EXIT_CANNOT_START = 78;

/**
 * A start-up failure no restart can fix, thrown by a service's own code with its one line already
 * written: the cause and the fix (the identity provider's signing keys sealed with another secret).
 */
export class CannotStartError extends Error {
  override readonly name = "CannotStartError";
}

/** Why `service` cannot start and what fixes it, in one line; undefined when a restart might help. */
export function describeStartFailure(err: unknown, service: string): string | undefined {
  if (err instanceof CannotStartError) return err.message;
  if (err instanceof DataDirLockedError) {
    const holder = err.holderPid !== undefined ? `, pid ${err.holderPid}` : "";
    return `${service} cannot start: its data directory is in use by a running stack${holder} (${err.path}). Stop that stack first, or give this one another DATA_DIR.`;
  }
  if (err instanceof EmbeddedPostgresUnavailableError) return `${service} cannot start: ${err.message}`;
  const code = errorCode(err);
  if (code === "EADDRINUSE" || code === "EACCES") {
    const port = (err as { port?: unknown }).port;
    const where = typeof port === "number" ? `port ${port}` : "its port";
    const why =
      code === "EADDRINUSE"
        ? "is already in use (another stack or program listens there)"
        : "may not be opened by this user";
    return `${service} cannot start: ${where} ${why}. Stop what holds it, or set another port for ${service} (its *_PORT setting).`;
  }
  const message = err instanceof Error ? err.message : "";
  if (message.startsWith("cannot connect to PostgreSQL")) {
    return `${service} cannot start: ${message}. Check DATABASE_URL (address, database, user, password), or unset it to use the embedded database.`;
  }
  return undefined;
}

/**
 * Runs a service's start; a failure that no restart can fix is one log line naming the cause and
 * the fix, then exit EXIT_CANNOT_START. Anything else propagates (a crash: the runner restarts it).
 */
export async function startOrExit<T>(service: string, logger: Logger, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if (!logStartFailure(logger, err, service)) throw err;
    // pino flushes what it has gathered synchronously at exit (kit/log), so the line is out before exit.
    process.exit(EXIT_CANNOT_START);
  }
}

/**
 * Logs the one fatal line of a start-up failure no restart can fix (with its cause: an error code
 * or name) and returns true; returns false, logging nothing, when a restart might help.
 */
export function logStartFailure(logger: Pick<Logger, "fatal">, err: unknown, service: string): boolean {
  const line = describeStartFailure(err, service);
  if (line === undefined) return false;
  logger.fatal({ cause: errorCode(err) ?? (err instanceof Error ? err.name : "unknown") }, line);
  return true;
}

/** A Node or PostgreSQL error code, on the error or anywhere down its `cause` chain. */
function errorCode(err: unknown): string | undefined {
  for (
    let e = err, depth = 0;
    e && typeof e === "object" && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}
