import { REDACTED, scrubSecrets } from "../../kit/log/scrub.js";

/** Argument names whose values never reach the audit table. */
const SECRET_KEY =
  /pass(word|wd)?$|secret|token|api[_-]?key|authorization|credential|cookie|private[_-]?key/i;
const MAX_STRING = 1_000;
const MAX_DEPTH = 6;
const MAX_ENTRIES = 50;
/** Upper bound of one row's `arguments` (JSON text, bytes ≈ characters here). */
export const MAX_AUDIT_ARGUMENTS_BYTES = 4_096;

/**
 * What the audit row keeps of a tool call's arguments: secrets replaced by name and by shape (JWTs,
 * bearer values, key=value pairs — the logger's scrubber), long strings and big collections cut,
 * and the whole capped at 4 KiB so one call cannot bloat the table.
 */
export function auditArguments(args: unknown): unknown {
  const cleaned = clean(args ?? {}, 0);
  const json = JSON.stringify(cleaned);
  if (json.length <= MAX_AUDIT_ARGUMENTS_BYTES) return cleaned;
  return { _truncated: true, _bytes: json.length, _preview: json.slice(0, MAX_AUDIT_ARGUMENTS_BYTES / 2) };
}

function clean(value: unknown, depth: number): unknown {
  if (typeof value === "string") {
    const scrubbed = scrubSecrets(value);
    return scrubbed.length > MAX_STRING
      ? `${scrubbed.slice(0, MAX_STRING)}…[+${scrubbed.length - MAX_STRING} chars]`
      : scrubbed;
  }
  if (value === null || typeof value !== "object") {
    return typeof value === "number" || typeof value === "boolean"
      ? value
      : value === null
        ? null
        : String(value);
  }
  if (depth >= MAX_DEPTH) return "[too deep]";
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ENTRIES).map((v) => clean(v, depth + 1));
    if (value.length > MAX_ENTRIES) items.push(`[+${value.length - MAX_ENTRIES} items]`);
    return items;
  }
  const out: Record<string, unknown> = {};
  const entries = Object.entries(value);
  for (const [key, v] of entries.slice(0, MAX_ENTRIES)) {
    out[key] = SECRET_KEY.test(key) ? REDACTED : clean(v, depth + 1);
  }
  if (entries.length > MAX_ENTRIES) out._more_keys = entries.length - MAX_ENTRIES;
  return out;
}
