import { type Actor, describeChain } from "#kit/auth/index.js";
import type { AuditRecord } from "../../data/audit-log.js";

/** The audit rows as `npm run audit` prints them: an aligned table, or JSON lines with `--json`. */
export function formatEntries(rows: readonly AuditRecord[], json: boolean): string {
  if (json) return rows.map((r) => `${JSON.stringify(r)}\n`).join("");
  const header = [
    "seq",
    "at",
    "user",
    "email",
    "actor chain",
    "tool",
    "outcome",
    "error",
    "confirmed by",
    "ms",
    "trace_id",
    "session_id",
  ];
  const lines = rows.map((r) => [
    r.seq === null ? "" : String(r.seq),
    r.at,
    r.user_id,
    r.email ?? "",
    chainOf(r) || (r.anonymous ? "(anonymous)" : ""),
    r.tool,
    r.outcome,
    r.error_code ? `${r.error_code}: ${r.error ?? ""}`.slice(0, 60) : "",
    r.confirmed_by ? `${r.confirmed_by} at ${r.confirmed_at ?? "?"}` : "",
    String(Math.round(r.duration_ms * 10) / 10),
    r.trace_id ?? "",
    r.session_id ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [fmt(header), ...lines.map(fmt), `${rows.length} row(s)`].map((l) => `${l}\n`).join("");
}

/** "mcp-gateway ← agent(ticket-reader)", from the stored chain (current actor first). */
function chainOf(r: AuditRecord): string {
  // The stored list is the nested `act` flattened; nest it back for the kit's one formatter.
  const actor = [...r.actor_chain]
    .reverse()
    .reduce<Actor | undefined>((inner, a) => ({ ...a, ...(inner ? { act: inner } : {}) }), undefined);
  return actor ? describeChain({ actor }) : "";
}
