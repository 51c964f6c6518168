import { Writable } from "node:stream";
import { createLogger, type Logger } from "../log/logger.js";

/** A real pino logger whose JSON lines are kept in memory, for asserting on what was logged. */
export interface LogCapture {
  readonly logger: Logger;
  readonly lines: string[];
  /** Parsed lines. */
  records(): Record<string, unknown>[];
}

export function captureLogs(service: string, level = "debug"): LogCapture {
  const lines: string[] = [];
  let partial = "";
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const text = partial + chunk.toString("utf8");
      const parts = text.split("\n");
      partial = parts.pop() ?? "";
      lines.push(...parts.filter(Boolean));
      cb();
    },
  });
  // pino writes synchronously to a plain Writable; no flushing needed before reading `lines`.
  const logger = createLogger({ service, level, destination });
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}
