/** Responses counted per endpoint and status class, printed as a table (the fuzz test's report). */
export interface StatusTable {
  add(endpoint: string, status: number | undefined): void;
  /** Requests answered 5xx, in all. */
  readonly serverErrors: number;
  format(): string;
}

const CLASSES = ["2xx", "3xx", "4xx", "5xx", "no answer"] as const;

export function createStatusTable(): StatusTable {
  const rows = new Map<string, number[]>();
  let serverErrors = 0;
  return {
    add(endpoint, status) {
      const row = rows.get(endpoint) ?? [0, 0, 0, 0, 0];
      const cls = status === undefined ? 4 : Math.min(3, Math.max(0, Math.floor(status / 100) - 2));
      row[cls] = (row[cls] ?? 0) + 1;
      rows.set(endpoint, row);
      if (status !== undefined && status >= 500) serverErrors++;
    },
    get serverErrors() {
      return serverErrors;
    },
    format() {
      const header = ["endpoint", "requests", ...CLASSES];
      const body = [...rows.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([endpoint, row]) => [endpoint, String(row.reduce((s, n) => s + n, 0)), ...row.map(String)]);
      const totals = CLASSES.map((_, i) => [...rows.values()].reduce((s, row) => s + (row[i] ?? 0), 0));
      body.push(["all", String(totals.reduce((s, n) => s + n, 0)), ...totals.map(String)]);
      const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? "").length)));
      const line = (cells: readonly string[]) =>
        cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
      return [line(header), ...body.map(line)].join("\n");
    },
  };
}
