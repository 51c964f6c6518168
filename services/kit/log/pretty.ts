import { Writable } from "node:stream";

/**
 * `LOG_FORMAT=pretty`: each JSON line the logger writes, as one line a person reads —
 * `12:04:05.123 INFO  chat  listening  url=http://…` — with the error's stack under it. It only
 * re-renders what the logger already sanitized, so no secret can appear here that JSON would hide.
 */
const LEVEL_COLOR: Readonly<Record<string, number>> = {
  fatal: 35,
  error: 31,
  warn: 33,
  info: 32,
  debug: 36,
  trace: 90,
};
const OMITTED = new Set(["level", "time", "service", "msg"]);

export function formatPretty(line: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const paint = (code: number, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const level = String(entry.level ?? "");
  const time = typeof entry.time === "string" ? entry.time.slice(11, 23) : "";
  const fields = Object.entries(entry)
    .filter(([key, value]) => !OMITTED.has(key) && key !== "err" && value !== undefined)
    .map(
      ([key, value]) => `${paint(90, `${key}=`)}${typeof value === "string" ? value : JSON.stringify(value)}`,
    );
  const head = [
    paint(90, time),
    paint(LEVEL_COLOR[level] ?? 0, level.toUpperCase().padEnd(5)),
    paint(1, String(entry.service ?? "").padEnd(11)),
    String(entry.msg ?? ""),
  ];
  const err = entry.err as { message?: unknown; stack?: unknown } | undefined;
  const errText = err
    ? `\n    ${typeof err.stack === "string" ? err.stack.replace(/\n/g, "\n    ") : String(err.message)}`
    : "";
  return `${[...head, ...fields].join("  ")}${errText}`;
}

/** A stream for pino: JSON lines in, pretty lines out to `target` (colored when it is a terminal). */
export function prettyStream(
  target: { write(text: string): unknown; isTTY?: boolean } = process.stdout,
): Writable {
  const color = target.isTTY === true;
  let pending = "";
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line) target.write(`${formatPretty(line, color)}\n`);
      done();
    },
  });
}
