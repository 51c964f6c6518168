import { parseArgs } from "node:util";
import { type Config, loadConfig } from "../kit/config/config.js";
import { type Database, DataDirLockedError } from "../kit/db/index.js";
import { parseAuditFilter } from "./audit/audit-filter.js";
import { type AuditRecord, queryAuditLog } from "./data/audit-log.js";
import { openMcpDatabase } from "./data/open-database.js";

/**
 * `npm run audit -- --user <id|email> --since <24h|ISO time> [--until …] [--tool …] [--outcome ok|error|refused]
 *                  [--trace <trace id>] [--limit 100] [--json] [--schema <pg schema>]`
 *
 * Reads the MCP server's audit trail straight from its database (an operator on the host is
 * trusted with the data directory anyway). On embedded PGlite it refuses while the server runs —
 * one process per database, enforced by the lock `openDatabase` takes — and points to
 * `GET /admin/audit`, which works at any time.
 */
const USAGE =
  "usage: npm run audit -- [--user <id|email>] [--since <24h|ISO>] [--until <ISO>] [--tool <name>] [--outcome ok|error|refused] [--trace <id>] [--limit <n>] [--json] [--schema <name>]";

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      user: { type: "string" },
      since: { type: "string" },
      until: { type: "string" },
      tool: { type: "string" },
      outcome: { type: "string" },
      trace: { type: "string" },
      limit: { type: "string" },
      json: { type: "boolean", default: false },
      schema: { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
}
try {
  args = parse();
} catch (err) {
  fail(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
}
if (args.values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const filter = parseAuditFilter(args.values);
if (!filter.ok) fail(`${filter.error}\n${USAGE}`);

const config: Config = loadConfig();
let db: Database;
try {
  // On embedded PGlite this takes the service's lock file, and refuses while the server holds it.
  db = await openMcpDatabase(config, args.values.schema ? { schema: args.values.schema } : {});
} catch (err) {
  if (!(err instanceof DataDirLockedError)) throw err;
  fail(
    `the MCP server (pid ${err.holderPid ?? "unknown"}) has the embedded database in ${config.DATA_DIR} open and PGlite allows one process; ` +
      `stop it first, or read the trail from the running server: curl -H "Authorization: Bearer <admin token>" ` +
      `"${new URL(config.MCP_RESOURCE).origin}/admin/audit?user=…&since=24h"`,
  );
}
try {
  const rows = await queryAuditLog(db, filter.query);
  if (args.values.json) {
    for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
  } else {
    printTable(rows);
  }
} finally {
  await db.close();
}

function printTable(rows: AuditRecord[]): void {
  const header = ["at", "user", "email", "actor", "tool", "outcome", "error", "ms", "trace_id", "session_id"];
  const lines = rows.map((r) => [
    r.at,
    r.user_id,
    r.email ?? "",
    [r.actor_sub, r.actor_agent].filter(Boolean).join("/") || (r.anonymous ? "(anonymous)" : ""),
    r.tool,
    r.outcome,
    r.error_code ? `${r.error_code}: ${r.error ?? ""}`.slice(0, 60) : "",
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
  process.stdout.write(`${fmt(header)}\n`);
  for (const l of lines) process.stdout.write(`${fmt(l)}\n`);
  process.stdout.write(`${rows.length} row(s)\n`);
}
