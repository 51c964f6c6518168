import type { Queryable } from "../types.js";

/** `q`, counting the statements sent through it: a spec's "one round trip" is a count of these. */
export function countingQueryable(q: Queryable): { readonly q: Queryable; statements(): number } {
  let statements = 0;
  return {
    q: {
      query: (sql, params) => {
        statements++;
        return q.query(sql, params);
      },
    },
    statements: () => statements,
  };
}
