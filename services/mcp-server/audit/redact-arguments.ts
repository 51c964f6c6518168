import { REDACTED, scrubSecrets } from "#kit/log/index.js";

/** Argument names whose values never reach the audit table. */
const SECRET_KEY =
  /pass(word|wd)?$|secret|token|api[_-]?key|authorization|credential|cookie|private[_-]?key/i;
const MAX_STRING = 1_000;
const MAX_DEPTH = 6;
const MAX_ENTRIES = 50;
/** Upper bound of one row's `arguments` (UTF-8 bytes of its JSON text). */
export const MAX_AUDIT_ARGUMENTS_BYTES = 4_096;
/**
 * How much of a string the secret scrubber reads. Its JWT pattern is quadratic on inputs like
 * "eyJeyJeyJ…" (300 KB took ~40 s), so it must never see a whole request-sized string; twice the
 * stored length still catches a token that starts inside what is kept.
 */
export const SCRUB_WINDOW = 2 * MAX_STRING;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Text PostgreSQL can store: `text` and `jsonb` refuse NUL, and `jsonb` refuses a lone UTF-16
 * surrogate (what cutting "😀" in half leaves). Either would make the audit INSERT fail, and a call
 * that cannot be audited is not answered — so an emoji at the wrong offset must not do that.
 */
export function storableText(text: string): string {
  return text.replaceAll("\u0000", "\ufffd").replace(LONE_SURROGATE, "\ufffd");
}

/**
 * The first `keep` characters of `text` with secrets scrubbed, and a marker saying how much was
 * dropped. The scrubber reads a bounded window only (see SCRUB_WINDOW).
 */
export function scrubbedPrefix(text: string, keep: number): string {
  const window = text.slice(0, Math.max(keep, SCRUB_WINDOW));
  const scrubbed = scrubSecrets(window);
  const unseen = text.length - window.length;
  if (scrubbed.length <= keep && unseen === 0) return storableText(scrubbed);
  const dropped = Math.max(0, scrubbed.length - keep) + unseen;
  return storableText(`${scrubbed.slice(0, keep)}…[+${dropped} chars]`);
}

/**
 * What the audit row keeps of a tool call's arguments: secrets replaced by name and by shape (JWTs,
 * bearer values, key=value pairs — the logger's scrubber), long strings and big collections cut,
 * and the whole capped at 4 KiB so one call cannot bloat the table. Once the kept text passes the
 * cap the rest is not even looked at: the work per call is bounded, whatever the body holds.
 */
export function auditArguments(args: unknown): unknown {
  const budget = { left: MAX_AUDIT_ARGUMENTS_BYTES + MAX_STRING };
  const cleaned = clean(args ?? {}, 0, budget);
  const json = JSON.stringify(cleaned);
  const bytes = Buffer.byteLength(json);
  if (bytes <= MAX_AUDIT_ARGUMENTS_BYTES && budget.left > 0) return cleaned;
  const preview = Buffer.from(json)
    .subarray(0, MAX_AUDIT_ARGUMENTS_BYTES / 2)
    .toString("utf8");
  return { _truncated: true, _bytes: bytes, _preview: storableText(preview) };
}

function clean(value: unknown, depth: number, budget: { left: number }): unknown {
  if (budget.left <= 0) return "[…]";
  if (typeof value === "string") {
    const kept = scrubbedPrefix(value, MAX_STRING);
    budget.left -= kept.length;
    return kept;
  }
  if (value === null || typeof value !== "object") {
    budget.left -= String(value).length + 1;
    return typeof value === "number" || typeof value === "boolean"
      ? value
      : value === null
        ? null
        : String(value);
  }
  if (depth >= MAX_DEPTH) return "[too deep]";
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ENTRIES).map((v) => clean(v, depth + 1, budget));
    if (value.length > MAX_ENTRIES) items.push(`[+${value.length - MAX_ENTRIES} items]`);
    return items;
  }
  const out: Record<string, unknown> = {};
  const entries = Object.entries(value);
  for (const [rawKey, v] of entries.slice(0, MAX_ENTRIES)) {
    const key = scrubbedPrefix(rawKey, 200);
    budget.left -= key.length;
    // Defined, not assigned: a key named "__proto__" would set the object's prototype instead, and
    // vanish from the row while the call went on with it.
    Object.defineProperty(out, key, {
      value: SECRET_KEY.test(rawKey) ? REDACTED : clean(v, depth + 1, budget),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  if (entries.length > MAX_ENTRIES) out._more_keys = entries.length - MAX_ENTRIES;
  return out;
}
