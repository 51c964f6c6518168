/**
 * Text-format parsers that make PGlite and `pg` return the same JavaScript values (see the table in
 * `types.ts`). By default `pg` returns int8 as a string and PGlite as number-or-bigint, and both
 * turn `date` into a time-zone-shifted `Date` in different ways; services must not care which back end
 * they run on, so both are configured with these.
 */

/** PostgreSQL type OIDs we override. */
export const OID = {
  INT8: 20,
  INT8_ARRAY: 1016,
  DATE: 1082,
} as const;

/** int8 → number; rejects values a double cannot represent exactly rather than corrupting them. */
export function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`int8 value ${text} is outside the safe integer range; select it as ::text`);
  }
  return value;
}

/** date → "YYYY-MM-DD" exactly as PostgreSQL prints it. */
export function parseDate(text: string): string {
  return text;
}

/** Maps a (possibly nested) array produced by pg's int8[] parser to numbers. */
export function mapInt8Array(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(mapInt8Array);
  return typeof value === "string" ? parseInt8(value) : value;
}
