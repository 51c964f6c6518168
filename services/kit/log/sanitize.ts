import pino from "pino";
import { REDACTED, scrubSecrets } from "./scrub.js";

/** Field names that hold a credential, in any case and spelling (`Authorization`, `x-api-key`, `apiKey`). */
const SECRET_KEY = /authori[sz]ation|passw(?:or)?d|secret|token|cookie|api[-_]?key|credential/i;
/** Names that match the above but only describe a secret: OAuth's `token_type`, `subject_token_type`, … */
const DESCRIBES_A_SECRET = /(?:_type|Type|_type_hint|_endpoint|Endpoint)$/;
/** Node's flat [name, value, name, value, …] header lists. */
const RAW_HEADER_LIST = /^raw_?(?:headers|trailers)$/i;
/**
 * Deeper than this nothing is printed. pino writes with plain JSON.stringify (no depth limit), so
 * what the walk does not reach must not be printed as it is.
 */
const MAX_DEPTH = 10;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !DESCRIBES_A_SECRET.test(key);
}

/**
 * What may be logged of `value`: values under secret-named keys replaced at any depth (objects and
 * arrays), every string scrubbed of credentials, errors turned into plain objects (pino's shape)
 * and treated the same way, cycles cut. The input is never changed; an object with nothing to
 * remove is returned as it is, so the usual log line (a few short fields) allocates nothing.
 */
export function sanitize(value: unknown): unknown {
  return walk(value, 0, []);
}

function walk(value: unknown, depth: number, ancestors: object[]): unknown {
  if (typeof value === "string") return scrubSecrets(value);
  if (typeof value !== "object" || value === null) return value;
  if (ancestors.includes(value)) return "[Circular]";
  if (depth >= MAX_DEPTH) return "[Truncated]";
  // message, stack (causes included) and every own property: ConnectError's rawMessage and
  // cause, custom fields.
  if (value instanceof Error) return walk(pino.stdSerializers.err(value), depth, ancestors);
  if (ArrayBuffer.isView(value)) return value; // bytes print as numbers, not text
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    const json: unknown = toJSON.call(value); // what JSON.stringify would print (a URL's href, say)
    if (json !== value) return walk(json, depth, ancestors);
  }
  ancestors.push(value);
  try {
    return Array.isArray(value) ? walkArray(value, depth, ancestors) : walkObject(value, depth, ancestors);
  } finally {
    ancestors.pop();
  }
}

function walkArray(items: readonly unknown[], depth: number, ancestors: object[]): unknown[] {
  let copy: unknown[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const clean = walk(item, depth + 1, ancestors);
    if (clean !== item) {
      copy ??= [...items];
      copy[i] = clean;
    }
  }
  return copy ?? (items as unknown[]);
}

function walkObject(object: object, depth: number, ancestors: object[]): object {
  const fields = object as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(fields)) {
    const field = fields[key];
    if (field === undefined || field === null) continue; // nothing to hide, and printed as it was
    let clean: unknown;
    if (isSecretKey(key)) clean = REDACTED;
    else if (RAW_HEADER_LIST.test(key) && Array.isArray(field))
      clean = walk(redactHeaderPairs(field), depth + 1, ancestors);
    else clean = walk(field, depth + 1, ancestors);
    if (clean !== field) {
      copy ??= { ...fields };
      copy[key] = clean;
    }
  }
  return copy ?? object;
}

/** In [name, value, …], blanks each value whose name is a secret (`Authorization`, `Cookie`, `X-Api-Key`). */
function redactHeaderPairs(list: readonly unknown[]): readonly unknown[] {
  let copy: unknown[] | undefined;
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = list[i];
    if (typeof name === "string" && isSecretKey(name)) {
      copy ??= [...list];
      copy[i + 1] = REDACTED;
    }
  }
  return copy ?? list;
}
