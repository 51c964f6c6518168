/** Answers counted per RPC method and Connect code, printed as a table (a fuzz test's report). */
export interface CodeTable {
  add(method: string, code: string): void;
  count(code: string): number;
  format(): string;
}

export function createCodeTable(): CodeTable {
  const rows = new Map<string, Map<string, number>>();
  const codes = new Set<string>();
  const count = (code: string) => [...rows.values()].reduce((sum, row) => sum + (row.get(code) ?? 0), 0);
  return {
    add(method, code) {
      const row = rows.get(method) ?? new Map<string, number>();
      row.set(code, (row.get(code) ?? 0) + 1);
      rows.set(method, row);
      codes.add(code);
    },
    count,
    format() {
      const columns = [...codes].sort();
      const header = ["method", "calls", ...columns];
      const body = [...rows.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([method, row]) => [
          method,
          String([...row.values()].reduce((s, n) => s + n, 0)),
          ...columns.map((c) => String(row.get(c) ?? 0)),
        ]);
      const totals = columns.map(count);
      body.push(["all", String(totals.reduce((s, n) => s + n, 0)), ...totals.map(String)]);
      const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? "").length)));
      const line = (cells: readonly string[]) =>
        cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
      return [line(header), ...body.map(line)].join("\n");
    },
  };
}
