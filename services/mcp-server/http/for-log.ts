/**
 * A header value or path bounded for the log: the logger scrubs every string field, and its JWT
 * pattern is quadratic on text like "eyJeyJ…", so an unauthenticated caller must not choose a 16 KB one.
 */
export const forLog = (v: string | undefined): string | undefined =>
  v !== undefined && v.length > 200 ? `${v.slice(0, 200)}…` : v;
