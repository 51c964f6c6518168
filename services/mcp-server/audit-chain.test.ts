import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "#kit/db/index.js";
import { GENESIS_HASH } from "./audit/chain-hash.js";
import { sealLegacyRows } from "./audit/legacy-seal.js";
import { verifyAuditChain } from "./audit/verify-chain.js";
import { readAuditHead } from "./data/audit-head.js";
import { queryAuditLog } from "./data/audit-log.js";
import { MIGRATIONS } from "./data/migrations.js";
import { openMcpDatabase, SERVICE_NAME } from "./data/open-database.js";
import { copyAuditTrail } from "./testing/copy-audit-trail.js";
import { AGENT, type Harness, startHarness, structured, type TestUser, VIEWER } from "./testing/harness.js";
import { runAuditCli } from "./testing/run-audit-cli.js";
import { insertForgedRow } from "./testing/tamper.js";

let h: Harness;
const databaseUrl = process.env.DATABASE_URL || undefined;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await h.close();
});

/** A fresh, migrated MCP database of its own: a temp DATA_DIR (PGlite) or a new schema (PostgreSQL). */
async function freshDatabase(
  migrations = MIGRATIONS,
): Promise<{ db: Database; env: Record<string, string | undefined>; args: string[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), "mcp-audit-copy-"));
  const schema = databaseUrl ? `mcp_copy_${randomBytes(6).toString("hex")}` : undefined;
  cleanups.push(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    if (databaseUrl && schema) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  });
  const config = { DATA_DIR: dataDir, DATABASE_URL: databaseUrl };
  const db =
    migrations === MIGRATIONS
      ? await openMcpDatabase(config, schema ? { schema } : {})
      : await openDatabase({
          service: SERVICE_NAME,
          dataDir,
          migrations,
          ...(databaseUrl ? { databaseUrl } : {}),
          ...(schema ? { schema } : {}),
        });
  return {
    db,
    env: { DATA_DIR: dataDir, DATABASE_URL: databaseUrl },
    args: schema ? ["--schema", schema] : [],
  };
}

/** A copy of the server's audit trail, tampered with by `tamper`, then `npm run audit -- --verify` on it. */
async function verifyTamperedCopy(tamper: (db: Database) => Promise<void>, extraArgs: string[] = []) {
  const copy = await freshDatabase();
  await copyAuditTrail(h.db, copy.db);
  await tamper(copy.db);
  await copy.db.close();
  return runAuditCli(["--verify", ...extraArgs, ...copy.args], copy.env);
}

const idOfSeq = async (db: Database, seq: number) =>
  (await db.query<{ id: number }>("SELECT id FROM audit_log WHERE seq = $1", [seq])).rows[0]?.id as number;

const USERS: TestUser[] = Array.from({ length: 30 }, (_, i) => ({
  sub: `u-chain-${i}`,
  email: `chain${i}@company.com`,
  roles: ["support_agent"],
  scope: AGENT.scope,
}));

// Each CLI run starts a Node process that opens its own (embedded) database: seconds, not millis.
describe("hash-chained audit trail", { timeout: 120_000 }, () => {
  it("stays one linear chain while 30 users write at once (tickets and their rows in one transaction)", async () => {
    await Promise.all(
      USERS.map(async (u, i) => {
        const client = await h.connect(
          await h.token(u, {
            act: { sub: "mcp-gateway", act: { sub: "agent", agent: "support-assistant" } },
          }),
        );
        structured(
          await client.callTool({
            name: "create_ticket",
            arguments: { title: `Chain ${i}`, description: "x" },
          }),
        );
        await client.callTool({ name: "get_ticket", arguments: { ticket_id: 999_999 } }); // error row
        await client.callTool({ name: "delete_ticket", arguments: { ticket_id: 1 } }).catch(() => undefined); // refused
        structured(await client.callTool({ name: "list_tickets", arguments: { limit: 1 } }));
      }),
    );
    const viewer = await h.connect(await h.token(VIEWER));
    structured(await viewer.callTool({ name: "list_tickets", arguments: {} }));

    const total = await h.count("SELECT count(*)::int AS n FROM audit_log");
    expect(total).toBe(USERS.length * 4 + 1);
    // Contiguous seq, each row pointing at the one before: checked in SQL, independently of verify.
    const { rows } = await h.db.query<{ seq: number; prev_hash: string; before: string | null }>(
      "SELECT seq, prev_hash, lag(row_hash) OVER (ORDER BY seq) AS before FROM audit_log ORDER BY seq",
    );
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    for (const r of rows) expect(r.prev_hash).toBe(r.before ?? GENESIS_HASH);

    const report = await verifyAuditChain(h.db);
    expect(report.problems).toEqual([]);
    expect(report.chainRows).toBe(total);
    expect(report.head.seq).toBe(total);
    const last = await h.db.query<{ row_hash: string }>("SELECT row_hash FROM audit_log WHERE seq = $1", [
      total,
    ]);
    expect(report.head.hash).toBe(last.rows[0]?.row_hash);
    // Every ticket change committed with exactly one "ok" row.
    expect(
      await h.count(
        "SELECT count(*)::int AS n FROM audit_log WHERE tool = 'create_ticket' AND outcome = 'ok'",
      ),
    ).toBe(await h.count("SELECT count(*)::int AS n FROM tickets"));
  });

  it("npm run audit -- --verify: an intact copy, no witness reachable here: intact against itself, exit 3", async () => {
    const head = await readAuditHead(h.db);
    const out = await verifyTamperedCopy(async (db) => {
      // jsonb may store keys in another order; the canonical form does not care.
      await db.query("UPDATE audit_log SET arguments = arguments, actor_chain = actor_chain");
    });
    expect(out.stderr).toBe("");
    // No identity service runs in this file: verify says so instead of passing for a full check
    // (the witnessed cases: audit-witness.test.ts).
    expect(out.stdout).toMatch(
      new RegExp(
        `^${head.seq} rows, chain intact, head ${head.hash}\nwitness UNREACHABLE: the audit witness at \\S+ is unreachable`,
      ),
    );
    expect(out.code).toBe(3);
  });

  it("reports an edited row (content hash mismatch) with its id, exit 1", async () => {
    const id = await idOfSeq(h.db, 5);
    const out = await verifyTamperedCopy(async (db) => {
      await db.query("UPDATE audit_log SET user_id = 'someone-else' WHERE seq = 5");
    });
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/^audit chain NOT intact: 1 problem\(s\) in \d+ rows/);
    expect(out.stdout).toContain(`edited       row id ${id}, seq 5: its content does not match its row_hash`);
  });

  it("reports a deleted middle row (seq gap), exit 1", async () => {
    const [before, after] = [await idOfSeq(h.db, 6), await idOfSeq(h.db, 8)];
    const out = await verifyTamperedCopy(async (db) => {
      await db.query("DELETE FROM audit_log WHERE seq = 7");
    });
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(
      `deleted      row id ${after}, seq 8: seq 7 is missing, between row id ${before} and row id ${after}`,
    );
    expect(out.stdout).toMatch(/1 problem\(s\)/);
  });

  it("reports inserted rows: one forged with a valid hash beyond the head, one outside the chain", async () => {
    const head = await readAuditHead(h.db);
    const out = await verifyTamperedCopy(async (db) => {
      // The attacker knows the algorithm: the forged row links to the last one and hashes correctly.
      await insertForgedRow(db, { seq: head.seq, hash: head.hash as string });
      await db.query(
        `INSERT INTO audit_log (id, user_id, tool, arguments, outcome, duration_ms)
         VALUES (900002, 'u-admin-7f3a', 'delete_ticket', '{}', 'ok', 1)`,
      );
    });
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(
      `inserted     row id 900001, seq ${head.seq + 1}: beyond the chain's recorded head (seq ${head.seq})`,
    );
    expect(out.stdout).toContain("inserted     row id 900002: not in the chain (no seq)");
    expect(out.stdout).toMatch(/2 problem\(s\)/);
  });

  it("rows numbered below the chain (seq 0, -1) are refused by the database, and once an insider drops that check, reported inserted and never listed", async () => {
    const forged = (id: number, seq: number) =>
      `INSERT INTO audit_log (id, seq, at, user_id, email, tool, arguments, outcome, duration_ms, prev_hash, row_hash)
       VALUES (${id}, ${seq}, now(), 'seed:viewer@company.com', 'viewer@company.com', 'delete_ticket',
               '{"ticket_id":3}', 'ok', 5, repeat('0', 64), repeat('1', 64))`;
    const copy = await freshDatabase();
    await copyAuditTrail(h.db, copy.db);
    await expect(copy.db.query(forged(900011, -1))).rejects.toMatchObject({ code: "23514" });
    await copy.db.query("ALTER TABLE audit_log DROP CONSTRAINT audit_log_seq_from_one");
    await copy.db.query(forged(900011, -1));
    await copy.db.query(forged(900012, 0));
    const listed = await queryAuditLog(copy.db, { tool: "delete_ticket", limit: 1000 });
    expect(listed.map((r) => r.id)).not.toContain(900011);
    expect(listed.map((r) => r.id)).not.toContain(900012);
    const report = await verifyAuditChain(copy.db);
    expect(report.problems.filter((p) => p.kind === "inserted").map((p) => [p.id, p.seq])).toEqual([
      [900011, -1],
      [900012, 0],
    ]);
    expect(report.rowsExamined).toBe(
      (await copy.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log")).rows[0]?.n,
    );
    await copy.db.close();
    const out = await runAuditCli(["--verify", ...copy.args], copy.env);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(
      "inserted     row id 900011, seq -1: not in the chain (seq -1: the chain counts from 1)",
    );
  });

  it("reports edit, deletion and insertion together; a rewritten tail is caught only by an earlier head", async () => {
    const head = await readAuditHead(h.db);
    const all = await verifyTamperedCopy(async (db) => {
      // Turn a refusal or failure into a success, or the reverse.
      await db.query(
        "UPDATE audit_log SET outcome = CASE outcome WHEN 'ok' THEN 'refused' ELSE 'ok' END WHERE seq = 3",
      );
      await db.query("DELETE FROM audit_log WHERE seq = 10");
      await db.query(
        `INSERT INTO audit_log (id, user_id, tool, arguments, outcome, duration_ms)
         VALUES (900003, 'u-admin-7f3a', 'delete_ticket', '{"ticket_id": 2}', 'ok', 1)`,
      );
    });
    expect(all.code).toBe(1);
    expect(all.stdout.match(/^ {2}(edited|deleted|inserted) /gm)).toEqual([
      "  edited ",
      "  deleted ",
      "  inserted ",
    ]);
    process.stdout.write(`\n$ npm run audit -- --verify   # on a tampered copy\n${all.stdout}\n`);

    // Drop the last row and move the head back: a consistent chain, unless you kept the old head.
    const rewrite = async (db: Database) => {
      await db.query("DELETE FROM audit_log WHERE seq = $1", [head.seq]);
      const prev = await db.query<{ row_hash: string }>("SELECT row_hash FROM audit_log WHERE seq = $1", [
        head.seq - 1,
      ]);
      await db.query("UPDATE audit_head SET seq = $1, hash = $2", [head.seq - 1, prev.rows[0]?.row_hash]);
    };
    const quiet = await freshDatabase();
    await copyAuditTrail(h.db, quiet.db);
    await rewrite(quiet.db);
    expect((await verifyAuditChain(quiet.db)).problems).toEqual([]);
    await quiet.db.close();
    const caught = await verifyTamperedCopy(rewrite, ["--known-head", head.hash as string]);
    expect(caught.code).toBe(1);
    expect(caught.stdout).toContain(`rewritten    the earlier head ${head.hash} is not a row of this chain`);
  });
});

describe("migration 0006 on a table written before the chain", { timeout: 120_000 }, () => {
  it("numbers the older rows, derives their one-link actor chain; only --seal-legacy seals them, once", async () => {
    const old = await freshDatabase(MIGRATIONS.slice(0, 5));
    await old.db.query(
      `INSERT INTO audit_log (user_id, email, actor_sub, actor_agent, tool, arguments, outcome, duration_ms)
       VALUES ('u-1', 'u1@company.com', 'mcp-gateway', 'support-assistant', 'create_ticket', '{"title": "Old", "n": 1.5}', 'ok', 2.25),
              ('u-2', NULL, NULL, NULL, 'get_ticket', '{"ticket_id": 1}', 'error', 0.125),
              ('u-1', 'u1@company.com', 'mcp-gateway', NULL, 'list_tickets', '{}', 'refused', 0)`,
    );
    await old.db.close();
    const config = { DATA_DIR: old.env.DATA_DIR as string, DATABASE_URL: databaseUrl };
    const schema = old.args[1];
    const db = await openMcpDatabase(config, schema ? { schema } : {});
    try {
      // Opening no longer seals (that path laundered edits): the head stays unsealed until the
      // operator's explicit --seal-legacy, which the witness must confirm never saw this chain.
      expect((await readAuditHead(db)).hash).toBeNull();
      await expect(sealLegacyRows(db, true)).rejects.toThrow(/the witness holds checkpoints/);
      expect(await sealLegacyRows(db, false)).toEqual({
        rows: 3,
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      await expect(sealLegacyRows(db, false)).rejects.toThrow(/sealed already/);
      const { rows } = await db.query<{
        seq: number;
        actor_chain: unknown;
        prev_hash: string;
        row_hash: string;
      }>("SELECT seq, actor_chain, prev_hash, row_hash FROM audit_log ORDER BY id");
      expect(rows.map((r) => [r.seq, r.actor_chain])).toEqual([
        [1, [{ sub: "mcp-gateway", agent: "support-assistant" }]],
        [2, []],
        [3, [{ sub: "mcp-gateway" }]],
      ]);
      expect(rows[0]?.prev_hash).toBe(GENESIS_HASH);
      expect(rows[1]?.prev_hash).toBe(rows[0]?.row_hash);
      const head = await readAuditHead(db);
      expect(head).toEqual({ seq: 3, hash: rows[2]?.row_hash, legacyRows: 3 });
      expect((await verifyAuditChain(db)).problems).toEqual([]);
    } finally {
      await db.close();
    }
    // The CLI agrees (against the table itself: no witness runs in this file).
    const again = await runAuditCli(["--verify", ...old.args], old.env);
    expect(again.stdout).toMatch(/^3 rows, chain intact, head [0-9a-f]{64}\nwitness UNREACHABLE/);
  });
});
