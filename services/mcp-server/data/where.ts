/**
 * Builds a parameterised WHERE clause from optional filters: values always travel as `$n`
 * parameters, only fixed SQL fragments written in this service are spliced in.
 */
export class Where {
  private readonly clauses: string[] = [];
  readonly params: unknown[] = [];

  /** Adds `fragment`, with each `?` replaced by the next parameter placeholder. */
  add(fragment: string, ...values: unknown[]): this {
    let i = 0;
    this.clauses.push(
      fragment.replace(/\?/g, () => {
        this.params.push(values[i++]);
        return `$${this.params.length}`;
      }),
    );
    return this;
  }

  /** A placeholder for one more parameter (for LIMIT/OFFSET after the clauses). */
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  toString(): string {
    return this.clauses.length > 0 ? `WHERE ${this.clauses.join(" AND ")}` : "";
  }
}

/** Escapes LIKE wildcards so user text matches literally. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
