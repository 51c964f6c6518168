import { afterEach, describe, expect, it } from "vitest";
import { RevocationService } from "#gen/supportext/auth/v1/revocation_pb.js";
import { createServiceClient } from "#kit/client/index.js";
import { createRevocationWatcher } from "#kit/revocation/index.js";
import { revocationWatcherSettings } from "#kit/service/index.js";
import { readAuditHead } from "./data/audit-head.js";
import { SAMPLE_TICKET_AUTHOR, SAMPLE_TICKETS } from "./data/sample-tickets.js";
import { seedSampleTickets } from "./data/seed-sample-tickets.js";
import { startMcpServer } from "./server.js";
import { AGENT, type Harness, startHarness, structured } from "./testing/harness.js";

// Sample tickets (docs/mcp-server.md, "Sample tickets"): development only, once, never audited.
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const SAMPLES = `SELECT count(*) AS n FROM tickets WHERE created_by = '${SAMPLE_TICKET_AUTHOR}'`;

describe("sample tickets", () => {
  it("development: seeded once on a fresh database, none again on restart or a second seeding", async () => {
    h = await startHarness({ env: { NODE_ENV: "development" } });
    expect(SAMPLE_TICKETS.length).toBeGreaterThanOrEqual(8);
    expect(await h.count(SAMPLES)).toBe(SAMPLE_TICKETS.length);
    expect(await h.count("SELECT count(*) AS n FROM tickets")).toBe(SAMPLE_TICKETS.length);
    // Not a user's tool call: no audit row, the chain still at its genesis.
    expect(await h.count("SELECT count(*) AS n FROM audit_log")).toBe(0);
    expect((await readAuditHead(h.db)).seq).toBe(0);
    expect(h.logs.records().some((l) => l.msg === "sample tickets seeded (NODE_ENV=development)")).toBe(true);

    // What "show me open tickets" finds, through the tool; assignees resolve to the seeded staff.
    const client = await h.connect(await h.token(AGENT));
    const open = structured<{ total: number; tickets: { assignee: { email: string } | null }[] }>(
      await client.callTool({ name: "list_tickets", arguments: { status: "open" } }),
    );
    expect(open.total).toBe(SAMPLE_TICKETS.filter((t) => t.status === "open").length);
    expect(open.tickets.some((t) => t.assignee?.email === "admin@company.com")).toBe(true);

    // Restart on the same database (the harness's handle), and a replica's seeding: still once.
    await h.server.close();
    const revocations = createRevocationWatcher({
      client: createServiceClient(RevocationService, h.feed.url),
      logger: h.logs.logger,
      ...revocationWatcherSettings(h.config),
    });
    const again = await startMcpServer(h.config, h.logs.logger, { database: h.db, revocations });
    await again.close();
    await revocations.close();
    expect(await Promise.all([seedSampleTickets(h.db), seedSampleTickets(h.db)])).toEqual([0, 0]);
    expect(await h.count("SELECT count(*) AS n FROM tickets")).toBe(SAMPLE_TICKETS.length);
  });

  it.each(["test", "production"])("NODE_ENV=%s seeds nothing", async (nodeEnv) => {
    h = await startHarness({ env: { NODE_ENV: nodeEnv } });
    expect(await h.count("SELECT count(*) AS n FROM tickets")).toBe(0);
  });
});
