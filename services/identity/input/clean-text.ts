/**
 * The one rule for text the identity service reads from a request (docs/identity.md, "Malformed
 * input"): no control character (Unicode Cc: C0, DEL, C1) and well-formed Unicode. No field the
 * service reads legitimately holds either — OAuth parameters, client metadata, emails, names,
 * passwords and tokens are printable text — while PostgreSQL refuses NUL in `text` and lone
 * surrogates in `jsonb`, which would otherwise surface as a 500.
 */

const CONTROL = /\p{Cc}/u;
// Without the `u` flag a lone surrogate is matched as a code unit (ES2023 has no isWellFormed).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `value` is not acceptable text, or undefined when it is. */
export function textProblem(value: string): string | undefined {
  if (CONTROL.test(value)) return "contains a control character";
  if (LONE_SURROGATE.test(value)) return "is not well-formed Unicode";
  return undefined;
}

/** How deep a parsed JSON document or message may nest before it is refused unread. */
export const MAX_DEPTH = 32;

/**
 * The first string (object keys included) in a parsed JSON value or a protobuf message that
 * breaks the rule, as `path: problem`; undefined when every string is clean. Walked without
 * recursion, so a deeply nested document costs no stack; deeper than MAX_DEPTH is a problem too.
 * Byte arrays (protobuf `bytes`) are not text and are skipped.
 */
export function dirtyStringIn(root: unknown, rootPath = "$"): string | undefined {
  const pending: { value: unknown; path: string; depth: number }[] = [
    { value: root, path: rootPath, depth: 0 },
  ];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value, path, depth } = next;
    if (typeof value === "string") {
      const problem = textProblem(value);
      if (problem) return `${shown(path)} ${problem}`;
      continue;
    }
    if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) continue;
    if (depth >= MAX_DEPTH) return `${shown(path)} is nested too deeply`;
    for (const [key, child] of Object.entries(value)) {
      const problem = textProblem(key);
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
