import pino, { type Logger, type LoggerOptions } from "pino";
import { currentCallScope } from "../propagation/call-scope.js";
import { scrubSecrets } from "./scrub.js";

export type { Logger } from "pino";

/**
 * Paths pino blanks out wherever they appear in a logged object (two levels deep covers
 * `req.headers.authorization`, `body.password`, `err.config.headers…` and the like).
 */
const SECRET_KEYS = [
  "authorization",
  "Authorization",
  "password",
  "token",
  "access_token",
  "refresh_token",
  "subject_token",
  "client_secret",
  "credential",
  "cookie",
  "accessToken",
  "refreshToken",
];
const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

function serializeError(err: unknown): unknown {
  const plain = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  for (const key of ["message", "stack"]) {
    if (typeof plain[key] === "string") plain[key] = scrubSecrets(plain[key] as string);
  }
  return plain;
}

export interface LoggerSettings {
  readonly service: string;
  readonly level?: string;
  /** Where lines go; stdout by default. Tests pass a capture stream. */
  readonly destination?: pino.DestinationStream;
}

/**
 * The one logger factory. JSON lines; every line written during a call carries `trace_id`,
 * `request_id` and `user_id` from the call scope (no per-handler child loggers needed);
 * secrets are redacted by key and scrubbed out of message strings and errors.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? "info",
    base: { service: settings.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: "msg",
    redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
    serializers: { err: serializeError, error: serializeError },
    formatters: {
      level: (label) => ({ level: label }),
      // Free-text fields (a `reason`, a `detail`) may quote a header; scrub top-level strings.
      log(object) {
        for (const [key, value] of Object.entries(object)) {
          if (typeof value === "string") object[key] = scrubSecrets(value);
        }
        return object;
      },
    },
    mixin() {
      const scope = currentCallScope();
      if (!scope) return {};
      return {
        trace_id: scope.trace?.traceId,
        request_id: scope.requestId,
        user_id: scope.principal?.userId,
        ...(scope.principal?.actor ? { actor: scope.principal.actor.agent ?? scope.principal.actor.sub } : {}),
      };
    },
    hooks: {
      // Message strings (and any string interpolation arguments) are scrubbed too.
      logMethod(args, method) {
        const cleaned = args.map((a) => (typeof a === "string" ? scrubSecrets(a) : a));
        method.apply(this, cleaned as Parameters<typeof method>);
      },
    },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}
