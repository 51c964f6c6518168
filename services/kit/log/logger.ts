import pino, { type Logger, type LoggerOptions } from "pino";
import { callFields } from "./call-fields.js";
import { prettyStream } from "./pretty.js";
import { sanitize } from "./sanitize.js";
import { scrubSecrets } from "./scrub.js";

export type { Logger } from "pino";

/**
 * pino runs the `log` formatter before serializers, so errors reach `err` already sanitized; this
 * only keeps pino's default `err` serializer from re-wrapping them (it would retype them "Object").
 */
function serializeError(err: unknown): unknown {
  return err instanceof Error ? sanitize(err) : err;
}

export interface LoggerSettings {
  readonly service: string;
  readonly level?: string;
  /** Where lines go; stdout by default. Tests pass a capture stream. */
  readonly destination?: pino.DestinationStream;
  /**
   * JSON lines, or `pretty` lines for a person. Default: `LOG_FORMAT` (validated by the config
   * schema), else `pretty` when writing to a terminal stdout and JSON otherwise. A given
   * `destination` gets JSON unless `pretty` is asked for here.
   */
  readonly format?: "json" | "pretty";
}

function resolveFormat(settings: LoggerSettings): "json" | "pretty" {
  if (settings.format) return settings.format;
  if (settings.destination) return "json";
  // Read here rather than passed by each service: every service builds its logger the same way, and
  // a child of the stack runner inherits its terminal, so one setting covers all four processes.
  const fromEnv = process.env.LOG_FORMAT;
  if (fromEnv === "json" || fromEnv === "pretty") return fromEnv;
  return process.stdout.isTTY ? "pretty" : "json";
}

/**
 * pino's `isoTime`, formatted once per millisecond: the lines of one burst share the string.
 * Formatting the date was 0.7 % of the MCP server's CPU per call (two lines a call).
 */
let formattedAt = Number.NaN;
let formattedTime = "";
function isoTimeOncePerMillisecond(): string {
  const now = Date.now();
  if (now !== formattedAt) {
    formattedAt = now;
    formattedTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return formattedTime;
}

/**
 * The one logger factory. JSON lines (or `pretty` ones, see `format`); every line written during a call carries `trace_id`,
 * `span_id`, `request_id` and `user_id` from the call scope (no per-handler child loggers needed);
 * secrets are removed from every logged object (by key, at any depth) and scrubbed out of every
 * string, messages and errors included (see `sanitize`).
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? "info",
    base: { service: settings.service },
    timestamp: isoTimeOncePerMillisecond,
    messageKey: "msg",
    serializers: { err: serializeError, error: serializeError },
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => sanitize(object) as Record<string, unknown>,
    },
    // Per-call fields from the call scope, supplied by its owner (`call-fields.ts`).
    mixin: callFields,
    hooks: {
      // The message and its interpolation arguments are printed outside the `log` formatter.
      logMethod(args, method) {
        const cleaned = args.map((a, i) => (i === 0 && typeof a !== "string" ? a : sanitize(a)));
        const fallback = args.length === 1 ? errorMessageUsedAsMsg(args[0]) : undefined;
        if (fallback !== undefined) cleaned.push(scrubSecrets(fallback));
        method.apply(this, cleaned as Parameters<typeof method>);
      },
    },
  };
  const pretty = resolveFormat(settings) === "pretty";
  const destination = pretty ? prettyStream(settings.destination) : (settings.destination ?? stdoutLines());
  return sanitizeChildBindings(pino(options, destination));
}

/** Lines are gathered up to this many bytes before one write... */
const WRITE_AT_BYTES = 2048;
/**
 * ...no write is longer than this (sonic-boom keeps whole lines in a write): on a pipe, a write of
 * at most PIPE_BUF (4096 bytes on Linux) is atomic, so the lines of the stack's processes, which
 * share the runner's stdout, never interleave mid-line (POSIX write(2)).
 */
const PIPE_BUF_BYTES = 4096;
/** ...and no line waits longer than this for its write, however quiet the process is. */
const FLUSH_AFTER_MS = 100;

/**
 * stdout as pino's default (asynchronous, never blocking the event loop on a slow reader), but
 * lines gathered into one write of 2–4 KB instead of one write per line (a line longer than 4 KB
 * is one write of its own). Each asynchronous write is a round trip through libuv's thread pool —
 * a worker woken, the write, the event loop woken back — and with two lines per tool call that was
 * the MCP server's and the gateway's most frequent system work (docs/performance.md, "Log lines
 * written in batches"). Gathered bytes are flushed every FLUSH_AFTER_MS while some are waiting,
 * and never otherwise: a quiet process makes no write at all. pino flushes synchronously when the process exits, a crash included (and on
 * `fatal`); only a SIGKILL can lose the last 100 ms of lines (the audit trail is in the database,
 * never in these).
 */
function stdoutLines(): pino.DestinationStream {
  const out = pino.destination({ dest: 1, sync: false, minLength: WRITE_AT_BYTES, maxWrite: PIPE_BUF_BYTES });
  // pino replaces `write` with a no-op once stdout's reader is gone (EPIPE): then nothing is left to flush.
  const ownWrite = out.write;
  let waiting = 0; // bytes given to `out` and not yet written
  out.on("write", (written: number) => {
    waiting -= written;
  });
  let timer: NodeJS.Timeout | undefined;
  const flushWaiting = () => {
    timer = undefined;
    if (waiting <= 0 || out.write !== ownWrite) return;
    try {
      // A no-op while a write is in flight: then the next round writes what is left.
      out.flush();
    } catch {
      return; // stdout is gone (sonic-boom destroyed): nothing left to write to
    }
    arm();
  };
  const arm = () => {
    if (timer !== undefined) return;
    timer = setTimeout(flushWaiting, FLUSH_AFTER_MS);
    timer.unref();
  };
  return {
    write(line: string) {
      waiting += Buffer.byteLength(line);
      out.write(line);
      arm();
    },
    flush: (cb?: (err?: Error) => void) => out.flush(cb),
    flushSync: () => {
      // pino's `fatal` writes everything out here, past sonic-boom's `write` events.
      out.flushSync();
      waiting = 0;
    },
  } as pino.DestinationStream;
}

/**
 * Without a message pino prints the error's own message as `msg` (for `logger.error(err)` and
 * `logger.error({ err })`), outside every formatter: this is the text it would print.
 */
function errorMessageUsedAsMsg(first: unknown): string | undefined {
  if (first instanceof Error) return first.message;
  const fields = first as { err?: { message?: unknown }; msg?: unknown } | null;
  if (typeof fields !== "object" || fields === null || fields.msg !== undefined) return undefined;
  return typeof fields.err?.message === "string" ? fields.err.message : undefined;
}

/**
 * A child's bindings are printed on each of its lines without passing the `log` formatter (and
 * pino drops the `bindings` formatter for children), so they are sanitized when the child is made.
 * Children inherit `child` from their parent, so grandchildren are covered too.
 */
function sanitizeChildBindings(logger: Logger): Logger {
  const child = logger.child;
  logger.child = function (this: Logger, bindings, childOptions) {
    return child.call(this, sanitize(bindings) as pino.Bindings, childOptions);
  } as Logger["child"];
  return logger;
}
