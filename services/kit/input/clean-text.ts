/**
 * The one rule for text a service reads from a request (docs/architecture.md, "Input text"):
 * well-formed Unicode and no control character (Unicode Cc: C0, DEL, C1). PostgreSQL refuses NUL
 * in `text` and lone surrogates in `jsonb`, which would otherwise surface as a 500 far from the
 * request that carried them; the other controls have no meaning in any field we store.
 *
 * Free text — chat messages, ticket descriptions, a tool call's arguments — legitimately holds
 * TAB, LF and CR, so the default rule allows those three. `strict` allows no control at all: the
 * identity service's fields (OAuth parameters, client metadata, emails, passwords, tokens) are
 * printable text (RFC 6749 Appendix A), so a line break there is never meant.
 */
export interface TextRule {
  /** Refuse TAB, LF and CR too (every Cc). */
  readonly strict?: boolean;
}

/** The rule for the identity service's fields: no control character at all. */
export const STRICT: TextRule = { strict: true };

const ANY_CONTROL = /\p{Cc}/u;
// Every Cc but TAB (U+0009), LF (U+000A) and CR (U+000D).
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL_BUT_LINE_BREAKS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
// Without the `u` flag a lone surrogate is matched as a code unit (ES2023 has no isWellFormed).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `value` is not acceptable text under `rule`, or undefined when it is. */
export function textProblem(value: string, rule: TextRule = {}): string | undefined {
  if ((rule.strict ? ANY_CONTROL : CONTROL_BUT_LINE_BREAKS).test(value))
    return "contains a control character";
  if (LONE_SURROGATE.test(value)) return "is not well-formed Unicode";
  return undefined;
}

/** How deep a parsed JSON document or message may nest before it is refused unread. */
export const MAX_DEPTH = 32;

/**
 * The first string (object keys included) in a parsed JSON value or a protobuf message that
 * breaks `rule`, as `path: problem`; undefined when every string is clean. Walked without
 * recursion, so a deeply nested document costs no stack; deeper than MAX_DEPTH is a problem too.
 * Byte arrays (protobuf `bytes`) are not text and are skipped.
 */
export function dirtyStringIn(root: unknown, rule: TextRule = {}, rootPath = "$"): string | undefined {
  const pending: { value: unknown; path: string; depth: number }[] = [
    { value: root, path: rootPath, depth: 0 },
  ];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value, path, depth } = next;
    if (typeof value === "string") {
      const problem = textProblem(value, rule);
      if (problem) return `${shown(path)} ${problem}`;
      continue;
    }
    if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) continue;
    if (depth >= MAX_DEPTH) return `${shown(path)} is nested too deeply`;
    for (const [key, child] of Object.entries(value)) {
      const problem = textProblem(key, rule);
      if (problem) return `a key in ${shown(path)} ${problem}`;
      pending.push({
        value: child,
        path: Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`,
        depth: depth + 1,
      });
    }
  }
  return undefined;
}

// Paths are built from the sender's keys: kept short in descriptions and log lines.
function shown(path: string): string {
  return path.length > 80 ? `${path.slice(0, 80)}…` : path;
}
