import { parseArgs } from "node:util";
import { type Config, loadConfig } from "#kit/config/index.js";
import { type Database, DataDirLockedError } from "#kit/db/index.js";
import { parseAuditFilter } from "./audit/audit-filter.js";
import { formatEntries } from "./audit/cli/print-entries.js";
import { readPassword } from "./audit/cli/read-password.js";
import { connectRemoteAudit } from "./audit/cli/remote-audit.js";
import { sealLegacyRows } from "./audit/legacy-seal.js";
import { formatChainReport } from "./audit/verify-chain.js";
import { configuredWitness, VERIFY_WITNESS_TIMEOUT_MS } from "./audit/witness/configured-witness.js";
import { verifyWithWitness } from "./audit/witness/verify-with-witness.js";
import { queryAuditLog } from "./data/audit-log.js";
import { openMcpDatabase } from "./data/open-database.js";

/**
 * `npm run audit` — the MCP server's audit trail, and `--verify` of its hash chain.
 *
 * Offline, it opens the service's database itself, read-only (an operator on the host is trusted
 * with the data directory anyway); `--verify` also compares the chain with the newest checkpoint the
 * identity service witnessed, asked with the MCP server's own credential (MCP_CLIENT_SECRET), and
 * never repairs or seals anything. `--seal-legacy` is the one command that writes (docs/mcp-server.md). Against the running service — when the embedded database is held by the
 * running server, or always with `--url` — it logs in as `--email` (password from AUDIT_PASSWORD or
 * asked without echo) at IDENTITY_URL and calls `supportext.audit.v1.AuditService` on the MCP server.
 *
 * Exit codes: 0 done (and, with --verify, the chain is intact and matches the witness); 1 --verify
 * found tampering; 2 the command could not run (bad flags, login refused, no audit:read, server
 * unreachable…); 3 --verify found nothing wrong but could not ask the witness.
 */
const USAGE = `usage: npm run audit -- [--user <id|email>] [--since <24h|ISO>] [--until <ISO>] [--tool <name>]
                      [--outcome ok|error|refused] [--trace <id>] [--limit <n>] [--json]
       npm run audit -- --verify [--known-head <hash>]
       npm run audit -- --seal-legacy   (once, after upgrading a table older than the chain)
  against the running service: [--url <MCP server URL>] --email <admin email>
                               (password: AUDIT_PASSWORD, or asked on the terminal)
  PostgreSQL: [--schema <name>]`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

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
      verify: { type: "boolean", default: false },
      "seal-legacy": { type: "boolean", default: false },
      "known-head": { type: "string" },
      url: { type: "string" },
      email: { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  }).values;
}

let args: ReturnType<typeof parse>;
try {
  args = parse();
} catch (err) {
  fail(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const rawFilter = {
  user: args.user,
  since: args.since,
  until: args.until,
  tool: args.tool,
  outcome: args.outcome,
  trace: args.trace,
  limit: args.limit,
};
const filter = parseAuditFilter(rawFilter);
if (!filter.ok) fail(`${filter.error}\n${USAGE}`);
const knownHead = args["known-head"];
if (knownHead !== undefined && !/^[0-9a-f]{64}$/.test(knownHead)) {
  fail(`--known-head: expected a 64-digit hex hash (an earlier "head" line)\n${USAGE}`);
}

const config: Config = loadConfig();
/** 1 tampering, 3 intact as far as it could tell but the witness was not asked, else 0. */
const verifyExitCode = (r: { problemCount: number; witness?: { state: string } }) =>
  r.problemCount > 0 ? 1 : r.witness?.state === "unreachable" ? 3 : 0;

try {
  if (args["seal-legacy"]) await sealLegacy();
  const db = args.url === undefined ? await openLocal(config) : undefined;
  if (db) {
    try {
      if (args.verify) {
        const witness = configuredWitness(config, { timeoutMs: VERIFY_WITNESS_TIMEOUT_MS });
        const report = await verifyWithWitness(db, {
          witness: witness.client,
          keys: witness.keys,
          ...(knownHead ? { knownHead } : {}),
        });
        process.stdout.write(formatChainReport(report));
        process.exitCode = verifyExitCode(report);
      } else {
        process.stdout.write(formatEntries(await queryAuditLog(db, filter.query), args.json));
      }
    } finally {
      await db.close();
    }
  } else {
    await runRemote(args.url ?? new URL(config.MCP_URL).origin);
  }
} catch (err) {
  // One line, never a stack trace: whatever went wrong is the operator's to read.
  fail(`npm run audit: ${err instanceof Error ? err.message : String(err)}`);
}
// The witness's HTTP/2 session would keep the process alive for its idle timeout.
process.exit(process.exitCode ?? 0);

/**
 * `--seal-legacy`: chains the rows written before migration 0006, once, only for a table in exactly
 * that state and only when the witness confirms it never saw this chain (legacy-seal.ts).
 */
async function sealLegacy(): Promise<never> {
  const witness = configuredWitness(config, { timeoutMs: VERIFY_WITNESS_TIMEOUT_MS });
  const latest = await witness.client.latest(); // unreachable: refused, said in one line
  const db = await openMcpDatabase(config, args.schema ? { schema: args.schema } : {});
  try {
    const sealed = await sealLegacyRows(db, latest !== undefined);
    process.stdout.write(`sealed ${sealed.rows} row(s) written before the chain, head ${sealed.hash}\n`);
  } finally {
    await db.close();
  }
  process.exit(0);
}

/** The database, or undefined when the running server holds the embedded one (read through it instead). */
async function openLocal(c: Config): Promise<Database | undefined> {
  try {
    // Read-only: no migration, nothing sealed. On embedded PGlite this takes the service's lock
    // file, and refuses while the server holds it.
    return await openMcpDatabase(c, { ...(args.schema ? { schema: args.schema } : {}), readOnly: true });
  } catch (err) {
    if (!(err instanceof DataDirLockedError)) throw err;
    if (args.email === undefined) {
      fail(
        `the MCP server (pid ${err.holderPid ?? "unknown"}) has the embedded database in ${c.DATA_DIR} open and PGlite allows one process; ` +
          "read the trail from the running server with your own login: add --email <admin email> (password from AUDIT_PASSWORD, " +
          `or asked), or use GET ${new URL(c.MCP_URL).origin}/admin/audit with your access token`,
      );
    }
    process.stderr.write(
      `the MCP server (pid ${err.holderPid ?? "unknown"}) holds the embedded database: reading through it\n`,
    );
    return undefined;
  }
}

async function runRemote(mcpUrl: string): Promise<void> {
  if (args.email === undefined)
    fail(`--email is required to read the trail from the running server\n${USAGE}`);
  let password: string;
  try {
    password = await readPassword(`password for ${args.email}: `);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  const remote = await connectRemoteAudit({
    identityUrl: config.IDENTITY_URL,
    mcpUrl,
    email: args.email,
    password,
  }).catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
  let failure: string | undefined;
  try {
    if (args.verify) {
      const report = await remote.verify(knownHead);
      process.stdout.write(formatChainReport(report));
      process.exitCode = verifyExitCode(report);
    } else {
      process.stdout.write(formatEntries(await remote.list(rawFilter), args.json));
    }
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
  }
  await remote.close();
  if (failure !== undefined) fail(failure);
}
