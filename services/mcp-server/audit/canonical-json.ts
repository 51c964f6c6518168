/**
 * The one serialization the audit chain hashes (docs/mcp-server.md, "Tamper evidence"): JSON with
 * object keys sorted (by UTF-16 code units, at every depth), no whitespace, `undefined` members
 * dropped as JSON.stringify drops them. PostgreSQL's jsonb reorders keys and normalizes spacing, so
 * hashing the text we sent would not survive a read back; hashing this form of the value does.
 *
 * Strings are made well-formed first (a lone surrogate becomes U+FFFD), which is what UTF-8 encoding
 * on the way into the database does to them: the value read back hashes the same.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return JSON.stringify(wellFormed(value));
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError("canonicalJson: non-finite number");
    return JSON.stringify(value);
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(wellFormed(k))}:${canonicalJson(v)}`).join(",")}}`;
  }
  throw new TypeError(`canonicalJson: cannot serialize a ${typeof value}`);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `String.prototype.toWellFormed` (ES2024, beyond this project's lib setting). */
function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, "\ufffd");
}
