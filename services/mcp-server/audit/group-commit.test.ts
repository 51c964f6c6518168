import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import type { AuditEntry } from "../data/audit-log.js";
import { MIGRATIONS } from "../data/migrations.js";
import { auditEntry } from "../testing/audit-entry.js";
import { createGroupCommit } from "./group-commit.js";
import { verifyAuditChain } from "./verify-chain.js";

/**
 * The audit group commit (docs/performance.md, "Per-call breakdown: MCP server"): rows appended at
 * once go in together, each caller answered only once its own row is stored, the chain intact; a
 * row the database refuses fails its own call only.
 */
const entry = (tool: string): AuditEntry => auditEntry({ tool, arguments: { n: tool } });

describe.each(testBackends("mcp-server", MIGRATIONS))("audit group commit on $name", (backend) => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await backend.open();
  });
  afterAll(() => test?.close());

  it("stores each of many concurrent rows before its caller is answered, in one intact chain", async () => {
    const append = createGroupCommit(test.db);
    const tools = Array.from({ length: 40 }, (_, i) => `tool_${i}`);
    await Promise.all(
      tools.map(async (tool) => {
        await append(entry(tool));
        // Answered: the row is there for anyone to read.
        const { rows } = await test.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM audit_log WHERE tool = $1",
          [tool],
        );
        expect(rows[0]?.n).toBe(1);
      }),
    );
    const report = await verifyAuditChain(test.db);
    expect(report.problems).toEqual([]);
    expect(report.chainRows).toBe(40);
  });

  it("fails only the call whose row the database refuses; the others are stored", async () => {
    const append = createGroupCommit(test.db);
    // PostgreSQL text cannot hold NUL: a data error (SQLSTATE 22…) for that row alone.
    const results = await Promise.allSettled(
      ["good_a", "bad\u0000tool", "good_b", "good_c"].map((tool) => append(entry(tool))),
    );
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    const report = await verifyAuditChain(test.db);
    expect(report.problems).toEqual([]);
    expect(report.chainRows).toBe(43);
  });
});
