import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Database, Queryable } from "#kit/db/index.js";
import { countingQueryable } from "#kit/db/testing/counting-queryable.js";
import {
  ACTIVE_STATUSES,
  TICKET_CATEGORIES,
  TICKET_PRIORITIES,
  TICKET_STATUSES,
  type TicketStatus,
} from "../domain/ticket.js";
import { openMcpDatabase } from "./open-database.js";
import {
  findTickets,
  getTicket,
  insertTicket,
  lockTicket,
  type NewTicket,
  softDeleteTicket,
  ticketStats,
  updateTicket,
} from "./tickets.js";
import { recordSeenUser } from "./users.js";

/**
 * The MCP server's ticket data layer (tickets.ts) over its real database (openMcpDatabase: PGlite
 * in a temporary DATA_DIR; a fresh schema on DATABASE_URL too). What the tools rely on: the
 * creator is stamped once and every change stamps its writer (any caller with the scope may change
 * any ticket: the layer records who, it does not restrict), a soft-deleted ticket is kept but every
 * read and write treats it as gone, and `lockTicket` holds the row until the transaction ends.
 */
interface Backend {
  readonly name: string;
  open(): Promise<{ db: Database; schema?: string; close(): Promise<void> }>;
}

const databaseUrl = process.env.DATABASE_URL;
const backends: Backend[] = [
  {
    name: "pglite",
    async open() {
      const dataDir = await mkdtemp(join(tmpdir(), "mcp-tickets-"));
      const db = await openMcpDatabase({ DATA_DIR: dataDir, DATABASE_URL: undefined });
      return {
        db,
        async close() {
          await db.close();
          await rm(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
  ...(databaseUrl
    ? [
        {
          name: "postgres",
          async open() {
            const schema = `mcp_tickets_test_${randomBytes(6).toString("hex")}`;
            const db = await openMcpDatabase({ DATA_DIR: "", DATABASE_URL: databaseUrl }, { schema });
            return {
              db,
              schema,
              async close() {
                try {
                  await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
                } finally {
                  await db.close();
                }
              },
            };
          },
        },
      ]
    : []),
];

const ALICE = "user-alice";
const BOB = "user-bob";
const VOCAB = { statuses: TICKET_STATUSES, priorities: TICKET_PRIORITIES, categories: TICKET_CATEGORIES };

const newTicket = (overrides: Partial<NewTicket> = {}): NewTicket => ({
  title: "Printer jammed",
  description: "Third floor, paper tray 2",
  priority: "medium",
  category: "hardware",
  source: "manual",
  assigneeId: null,
  createdBy: ALICE,
  ...overrides,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(backends)("tickets on $name", (backend) => {
  let db: Database;
  let schema: string | undefined;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const opened = await backend.open();
    db = opened.db;
    schema = opened.schema;
    close = opened.close;
    await db.query(
      `INSERT INTO users (id, email, display_name, source) VALUES
         ($1, 'alice@company.com', 'Alice', 'token'), ($2, 'bob@company.com', 'Bob', 'token')`,
      [ALICE, BOB],
    );
  });
  afterAll(async () => {
    await close?.();
  });
  beforeEach(async () => {
    await db.query("DELETE FROM tickets");
  });

  const stored = async (id: number) =>
    (
      await db.query<{
        deleted_at: Date | null;
        deleted_by: string | null;
        delete_reason: string | null;
        updated_by: string;
        title: string;
      }>("SELECT deleted_at, deleted_by, delete_reason, updated_by, title FROM tickets WHERE id = $1", [id])
    ).rows[0];

  const counted = () => countingQueryable(db);

  it("a create or an update is one round trip that answers with the ticket as a read shows it, assignee's name included", async () => {
    const create = counted();
    const created = await insertTicket(create.q, newTicket({ assigneeId: BOB }));
    expect(create.statements()).toBe(1);
    expect(created).toEqual(await getTicket(db, created.id));
    expect(created.assignee).toEqual({ id: BOB, email: "bob@company.com", name: "Bob" });

    const update = counted();
    const updated = await updateTicket(
      update.q,
      created.id,
      { assigneeId: ALICE, status: "in_progress" },
      BOB,
    );
    expect(update.statements()).toBe(1);
    expect(updated).toEqual(await getTicket(db, created.id));
    expect(updated).toMatchObject({
      assignee: { id: ALICE, email: "alice@company.com", name: "Alice" },
      status: "in_progress",
      updated_by: BOB,
    });

    await softDeleteTicket(db, created.id, BOB, "test");
    const gone = counted();
    expect(await updateTicket(gone.q, created.id, { title: "again" }, BOB)).toBeUndefined();
    expect(gone.statements()).toBe(1);
  });

  describe("create and read", () => {
    it("creates an open ticket stamped with its creator, read back identically", async () => {
      const created = await insertTicket(
        db,
        newTicket({ assigneeId: BOB, source: "ai", priority: "urgent" }),
      );
      expect(created).toMatchObject({
        title: "Printer jammed",
        description: "Third floor, paper tray 2",
        status: "open",
        priority: "urgent",
        category: "hardware",
        source: "ai",
        assignee: { id: BOB, email: "bob@company.com", name: "Bob" },
        created_by: ALICE,
        updated_by: ALICE,
      });
      expect(created.id).toBeGreaterThan(0);
      expect(created.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(created.updated_at).toBe(created.created_at);
      expect(await getTicket(db, created.id)).toEqual(created);
    });

    it("stores an unassigned ticket with no assignee, and refuses an assignee nobody knows", async () => {
      expect((await insertTicket(db, newTicket())).assignee).toBeNull();
      await expect(insertTicket(db, newTicket({ assigneeId: "user-nobody" }))).rejects.toThrow();
      expect((await findTickets(db, {}, page())).total).toBe(1);
    });

    it("answers undefined for a ticket that does not exist", async () => {
      expect(await getTicket(db, 987_654)).toBeUndefined();
    });

    it("follows a seeded assignee re-keyed to the real user id on their first token", async () => {
      const ticket = await insertTicket(db, newTicket({ assigneeId: "seed:agent@company.com" }));
      await recordSeenUser(db, {
        userId: "user-agent",
        email: "agent@company.com",
        roles: ["support_agent"],
      });
      expect((await getTicket(db, ticket.id))?.assignee).toEqual({
        id: "user-agent",
        email: "agent@company.com",
        name: "Support Agent",
      });
    });
  });

  describe("update", () => {
    it("changes only the given fields and stamps the writer, never the creator", async () => {
      const ticket = await insertTicket(db, newTicket({ assigneeId: BOB }));
      const updated = await updateTicket(
        db,
        ticket.id,
        { priority: "high", title: undefined, description: "Tray 2 and tray 3" },
        BOB,
      );
      expect(updated).toMatchObject({
        id: ticket.id,
        title: "Printer jammed",
        description: "Tray 2 and tray 3",
        priority: "high",
        category: "hardware",
        status: "open",
        assignee: { id: BOB },
        created_by: ALICE,
        updated_by: BOB,
      });
      expect(Date.parse(updated?.updated_at ?? "")).toBeGreaterThanOrEqual(Date.parse(ticket.created_at));
      expect(await getTicket(db, ticket.id)).toEqual(updated);
    });

    it("lets any writer change any ticket (the scope decides, not the creator); the last writer is recorded", async () => {
      const ticket = await insertTicket(db, newTicket({ createdBy: ALICE }));
      expect((await updateTicket(db, ticket.id, { status: "in_progress" }, BOB))?.updated_by).toBe(BOB);
      expect((await updateTicket(db, ticket.id, { category: "network" }, ALICE))?.updated_by).toBe(ALICE);
      expect(await getTicket(db, ticket.id)).toMatchObject({
        status: "in_progress",
        category: "network",
        created_by: ALICE,
        updated_by: ALICE,
      });
    });

    it("assigns and unassigns (null)", async () => {
      const ticket = await insertTicket(db, newTicket());
      expect((await updateTicket(db, ticket.id, { assigneeId: ALICE }, BOB))?.assignee?.email).toBe(
        "alice@company.com",
      );
      expect((await updateTicket(db, ticket.id, { assigneeId: null }, BOB))?.assignee).toBeNull();
    });

    it("answers undefined for a missing ticket and changes nothing else", async () => {
      const other = await insertTicket(db, newTicket());
      expect(await updateTicket(db, other.id + 1_000, { title: "Hijacked" }, BOB)).toBeUndefined();
      expect(await getTicket(db, other.id)).toEqual(other);
    });

    it("refuses a value outside the vocabulary", async () => {
      const ticket = await insertTicket(db, newTicket());
      await expect(
        updateTicket(db, ticket.id, { status: "reopened" as TicketStatus }, BOB),
      ).rejects.toThrow();
      expect((await getTicket(db, ticket.id))?.status).toBe("open");
    });
  });

  describe("soft delete", () => {
    it("keeps the row with who, when and why, and hides it from every read and write", async () => {
      const gone = await insertTicket(
        db,
        newTicket({ title: "Duplicate of printer ticket", assigneeId: BOB }),
      );
      const kept = await insertTicket(db, newTicket({ title: "Monitor flickers", assigneeId: BOB }));

      expect(await softDeleteTicket(db, gone.id, BOB, "duplicate")).toBe(true);

      expect(await stored(gone.id)).toMatchObject({
        deleted_at: expect.any(Date),
        deleted_by: BOB,
        delete_reason: "duplicate",
        updated_by: BOB,
        title: "Duplicate of printer ticket",
      });
      expect(await getTicket(db, gone.id)).toBeUndefined();
      const listed = await findTickets(db, {}, page());
      expect(listed).toMatchObject({ total: 1, tickets: [{ id: kept.id }] });
      expect((await findTickets(db, { text: "Duplicate" }, page())).total).toBe(0);
      expect((await findTickets(db, { text: `#${gone.id}` }, page())).total).toBe(0);
      expect((await findTickets(db, { assigneeId: BOB }, page())).total).toBe(1);
      const stats = await ticketStats(db, undefined, VOCAB, ACTIVE_STATUSES);
      expect(stats.total).toBe(1);
      expect(stats.by_assignee).toEqual([{ assignee_id: BOB, email: "bob@company.com", count: 1 }]);

      // Writes treat it as gone too: nothing is changed, nothing deleted twice.
      expect(await updateTicket(db, gone.id, { title: "Resurrected" }, ALICE)).toBeUndefined();
      expect(await lockTicket(db, gone.id)).toBeUndefined();
      expect(await softDeleteTicket(db, gone.id, ALICE, "again")).toBe(false);
      expect(await stored(gone.id)).toMatchObject({
        deleted_by: BOB,
        delete_reason: "duplicate",
        title: "Duplicate of printer ticket",
      });
    });

    it("answers false for a ticket that never existed", async () => {
      expect(await softDeleteTicket(db, 987_654, BOB, "")).toBe(false);
    });
  });

  describe("find", () => {
    const seed = async () => {
      const t = {
        printer: await insertTicket(db, newTicket({ title: "Printer jammed", priority: "low" })),
        vpn: await insertTicket(
          db,
          newTicket({
            title: "VPN drops",
            description: "every 100% of the time after lunch",
            priority: "urgent",
            category: "network",
            assigneeId: BOB,
            createdBy: BOB,
          }),
        ),
        invoice: await insertTicket(
          db,
          newTicket({
            title: "Invoice_2 wrong",
            description: "the printer address is on it",
            priority: "high",
            category: "billing",
            assigneeId: ALICE,
          }),
        ),
      };
      await updateTicket(db, t.invoice.id, { status: "resolved" }, ALICE);
      return t;
    };
    const ids = async (
      filter: Parameters<typeof findTickets>[1],
      order: Partial<ReturnType<typeof page>> = {},
    ) => (await findTickets(db, filter, { ...page(), ...order })).tickets.map((x) => x.id);

    it("counts the total in the page's own statement (one snapshot: never '5 match, showing 7'), text search and past the end too", async () => {
      const t = await seed();
      const one = counted();
      const listed = await findTickets(one.q, { status: ["open", "resolved"] }, { ...page(), limit: 2 });
      expect(one.statements()).toBe(1);
      expect(listed.total).toBe(3);
      expect(listed.tickets).toHaveLength(2);
      const searched = counted();
      const found = await findTickets(searched.q, { text: "printer" }, page());
      expect(searched.statements()).toBe(1);
      expect(found.total).toBe(found.tickets.length);
      expect(found.tickets.map((x) => x.id)).toContain(t.printer.id);
      // Nothing matches: no statement but the page's, total 0; past the end: the count alone tells.
      const none = counted();
      expect(await findTickets(none.q, { createdBy: "nobody" }, page())).toEqual({ total: 0, tickets: [] });
      expect(none.statements()).toBe(1);
      expect(await findTickets(db, { status: ["open", "resolved"] }, { ...page(), offset: 50 })).toEqual({
        total: 3,
        tickets: [],
      });
    });

    it("filters by status, priority, category, assignee (or none) and creator", async () => {
      const t = await seed();
      expect(await ids({ status: ["resolved"] })).toEqual([t.invoice.id]);
      expect((await ids({ status: ["open", "resolved"] })).sort()).toEqual(
        [t.printer.id, t.vpn.id, t.invoice.id].sort(),
      );
      expect(await ids({ priority: ["urgent", "low"] }, { orderBy: "id", direction: "asc" })).toEqual([
        t.printer.id,
        t.vpn.id,
      ]);
      expect(await ids({ category: ["billing"] })).toEqual([t.invoice.id]);
      expect(await ids({ assigneeId: BOB })).toEqual([t.vpn.id]);
      expect(await ids({ assigneeId: null })).toEqual([t.printer.id]);
      expect(await ids({ createdBy: BOB })).toEqual([t.vpn.id]);
      expect(await ids({ createdBy: BOB, status: ["resolved"] })).toEqual([]);
    });

    it("searches title and description literally, title hits first, and by #id", async () => {
      const t = await seed();
      expect(await ids({ text: "printer" })).toEqual([t.printer.id, t.invoice.id]);
      expect(await ids({ text: "100%" })).toEqual([t.vpn.id]);
      expect(await ids({ text: "%" })).toEqual([t.vpn.id]); // a wildcard matches only itself
      expect(await ids({ text: "Invoice_2" })).toEqual([t.invoice.id]);
      expect(await ids({ text: "Invoice_" })).toEqual([t.invoice.id]);
      expect(await ids({ text: "wron_" })).toEqual([]); // "_" is no single-character wildcard
      expect(await ids({ text: `#${t.vpn.id}` })).toEqual([t.vpn.id]);
      expect(await ids({ text: String(t.invoice.id) })).toContain(t.invoice.id);
    });

    it("orders by priority and pages with a total of every match", async () => {
      const t = await seed();
      expect(await ids({}, { orderBy: "priority", direction: "desc" })).toEqual([
        t.vpn.id,
        t.invoice.id,
        t.printer.id,
      ]);
      const first = await findTickets(db, {}, { orderBy: "id", direction: "asc", limit: 2, offset: 0 });
      const second = await findTickets(db, {}, { orderBy: "id", direction: "asc", limit: 2, offset: 2 });
      expect(first.total).toBe(3);
      expect(second.total).toBe(3);
      expect([...first.tickets, ...second.tickets].map((x) => x.id)).toEqual([
        t.printer.id,
        t.vpn.id,
        t.invoice.id,
      ]);
    });

    it("counts every breakdown on the same tickets, zero-filled, active ones apart", async () => {
      const t = await seed();
      const stats = await ticketStats(db, undefined, VOCAB, ACTIVE_STATUSES);
      expect(stats.total).toBe(3);
      expect(stats.active).toBe(2);
      expect(stats.by_status).toEqual({ open: 2, in_progress: 0, waiting: 0, resolved: 1, closed: 0 });
      expect(stats.by_priority).toEqual({ low: 1, medium: 0, high: 1, urgent: 1 });
      expect(Object.values(stats.by_category).reduce((a, b) => a + b, 0)).toBe(3);
      expect(stats.by_assignee).toHaveLength(3);
      expect(stats.by_assignee[0]).toEqual({ assignee_id: null, email: null, count: 1 });
      const later = await ticketStats(
        db,
        new Date(Date.parse(t.invoice.created_at) + 60_000),
        VOCAB,
        ACTIVE_STATUSES,
      );
      expect(later.total).toBe(0);
      expect(later.by_status.open).toBe(0);
    });
  });

  describe("lockTicket", () => {
    it("answers a live ticket's status, and undefined for a missing one", async () => {
      const ticket = await insertTicket(db, newTicket());
      await updateTicket(db, ticket.id, { status: "waiting" }, BOB);
      expect(await db.transaction((tx) => lockTicket(tx, ticket.id))).toEqual({ status: "waiting" });
      expect(await db.transaction((tx) => lockTicket(tx, ticket.id + 1_000))).toBeUndefined();
    });

    // One connection on PGlite serialises every transaction anyway: the row lock matters on PostgreSQL.
    describe.skipIf(backend.name !== "postgres")("FOR UPDATE", () => {
      /** Until a statement of this schema's pool waits for a lock. */
      const waitingForLock = async (): Promise<void> => {
        const deadline = performance.now() + 20_000;
        for (;;) {
          const { rows } = await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE application_name = $1 AND wait_event_type = 'Lock'`,
            [`support-ext:${schema}`],
          );
          if ((rows[0]?.n ?? 0) > 0) return;
          if (performance.now() > deadline) throw new Error("no transaction waited for the row lock");
          await sleep(20);
        }
      };

      /** Runs `first` holding the ticket's lock; `second` locks it meanwhile. Both results, in order. */
      async function contend<A, B>(
        id: number,
        first: (tx: Queryable) => Promise<A>,
        second: (tx: Queryable) => Promise<B>,
      ) {
        let release!: () => void;
        const released = new Promise<void>((r) => {
          release = r;
        });
        let locked!: () => void;
        const holding = new Promise<void>((r) => {
          locked = r;
        });
        const order: string[] = [];
        const a = db.transaction(async (tx) => {
          await lockTicket(tx, id);
          locked();
          await released;
          const result = await first(tx);
          order.push("first done");
          return result;
        });
        await holding;
        const b = db.transaction(async (tx) => {
          const result = await second(tx);
          order.push("second done");
          return result;
        });
        let failure: unknown;
        try {
          await waitingForLock();
          expect(order).toEqual([]);
        } catch (err) {
          failure = err;
        } finally {
          release();
        }
        const settled = await Promise.allSettled([a, b]);
        if (failure) throw failure;
        const results = settled.map((s) => {
          if (s.status === "rejected") throw s.reason;
          return s.value;
        }) as [A, B];
        expect(order).toEqual(["first done", "second done"]);
        return results;
      }

      it("makes a second locker wait, then see the status the first left behind", async () => {
        const ticket = await insertTicket(db, newTicket());
        const [, seen] = await contend(
          ticket.id,
          (tx) => updateTicket(tx, ticket.id, { status: "resolved" }, ALICE),
          (tx) => lockTicket(tx, ticket.id),
        );
        expect(seen).toEqual({ status: "resolved" });
      });

      it("a ticket deleted while another waits for its lock is gone for the waiter", async () => {
        const ticket = await insertTicket(db, newTicket());
        const [deleted, seen] = await contend(
          ticket.id,
          (tx) => softDeleteTicket(tx, ticket.id, ALICE, "duplicate"),
          (tx) => lockTicket(tx, ticket.id),
        );
        expect(deleted).toBe(true);
        expect(seen).toBeUndefined();
      });

      it("a write waits for the lock holder, and lands on top of its change", async () => {
        const ticket = await insertTicket(db, newTicket());
        const [, updated] = await contend(
          ticket.id,
          (tx) => updateTicket(tx, ticket.id, { status: "closed" }, ALICE),
          (tx) => updateTicket(tx, ticket.id, { priority: "urgent" }, BOB),
        );
        expect(updated).toMatchObject({ status: "closed", priority: "urgent", updated_by: BOB });
      });
    });
  });
});

function page(): {
  orderBy: "created_at" | "updated_at" | "priority" | "id";
  direction: "asc" | "desc";
  limit: number;
  offset: number;
} {
  return { orderBy: "id", direction: "asc", limit: 50, offset: 0 };
}
