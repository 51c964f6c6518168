import type { Queryable } from "#kit/db/index.js";
import type { TicketCategory, TicketPriority, TicketStatus } from "../domain/ticket.js";
import { likePattern, Where } from "./where.js";

/** A ticket as the tools return it (JSON-ready: ISO timestamps, snake_case like the tool inputs). */
export interface Ticket {
  id: number;
  title: string;
  description: string;
  status: TicketStatus;
  priority: TicketPriority;
  category: TicketCategory;
  assignee: { id: string; email: string; name: string } | null;
  source: "manual" | "ai";
  created_by: string;
  updated_by: string;
  created_at: string;
  updated_at: string;
}

interface TicketRow extends Record<string, unknown> {
  id: number;
  title: string;
  description: string;
  status: TicketStatus;
  priority: TicketPriority;
  category: TicketCategory;
  assignee_id: string | null;
  assignee_email: string | null;
  assignee_name: string | null;
  source: "manual" | "ai";
  created_by: string;
  updated_by: string;
  created_at: Date;
  updated_at: Date;
}

/** A ticket as tools show it: its row `t` and its assignee's name. */
const TICKET_OF_T = `
  SELECT t.id, t.title, t.description, t.status, t.priority, t.category, t.assignee_id, t.source,
         t.created_by, t.updated_by, t.created_at, t.updated_at,
         u.email AS assignee_email, u.display_name AS assignee_name`;

const SELECT = `${TICKET_OF_T}
  FROM tickets t LEFT JOIN users u ON u.id = t.assignee_id`;

/** `change` (an INSERT or UPDATE … RETURNING *) and the ticket it leaves, in one round trip. */
const changedTicket = (change: string) => `WITH t AS (${change} RETURNING *)${TICKET_OF_T}
  FROM t LEFT JOIN users u ON u.id = t.assignee_id`;

function toTicket(r: TicketRow): Ticket {
  return {
    id: r.id,
    title: r.title,
    description: r.description,
    status: r.status,
    priority: r.priority,
    category: r.category,
    assignee: r.assignee_id
      ? { id: r.assignee_id, email: r.assignee_email ?? "", name: r.assignee_name ?? "" }
      : null,
    source: r.source,
    created_by: r.created_by,
    updated_by: r.updated_by,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

export interface NewTicket {
  title: string;
  description: string;
  priority: TicketPriority;
  category: TicketCategory;
  source: "manual" | "ai";
  assigneeId: string | null;
  /** The user id from the token. */
  createdBy: string;
}

export async function insertTicket(q: Queryable, t: NewTicket): Promise<Ticket> {
  const { rows } = await q.query<TicketRow>(
    changedTicket(
      `INSERT INTO tickets (title, description, priority, category, source, assignee_id, created_by, updated_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
    ),
    [t.title, t.description, t.priority, t.category, t.source, t.assigneeId, t.createdBy],
  );
  return toTicket(rows[0] as TicketRow);
}

/** A live (not deleted) ticket. */
export async function getTicket(q: Queryable, id: number): Promise<Ticket | undefined> {
  const { rows } = await q.query<TicketRow>(`${SELECT} WHERE t.id = $1 AND t.deleted_at IS NULL`, [id]);
  return rows[0] ? toTicket(rows[0]) : undefined;
}

/** Locks a live ticket's row for the rest of the transaction and returns its status. */
export async function lockTicket(q: Queryable, id: number): Promise<{ status: TicketStatus } | undefined> {
  const { rows } = await q.query<{ status: TicketStatus }>(
    "SELECT status FROM tickets WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
    [id],
  );
  return rows[0];
}

export interface TicketChanges {
  title?: string;
  description?: string;
  priority?: TicketPriority;
  category?: TicketCategory;
  status?: TicketStatus;
  /** null unassigns. */
  assigneeId?: string | null;
}

const COLUMN: Record<keyof TicketChanges, string> = {
  title: "title",
  description: "description",
  priority: "priority",
  category: "category",
  status: "status",
  assigneeId: "assignee_id",
};

/** Applies `changes` to a live ticket, stamping `updated_by`/`updated_at`; undefined if no such ticket. */
export async function updateTicket(
  q: Queryable,
  id: number,
  changes: TicketChanges,
  updatedBy: string,
): Promise<Ticket | undefined> {
  const params: unknown[] = [id, updatedBy];
  const sets = ["updated_by = $2", "updated_at = now()"];
  for (const [key, value] of Object.entries(changes) as [keyof TicketChanges, unknown][]) {
    if (value === undefined) continue;
    params.push(value);
    sets.push(`${COLUMN[key]} = $${params.length}`);
  }
  const { rows } = await q.query<TicketRow>(
    changedTicket(`UPDATE tickets SET ${sets.join(", ")} WHERE id = $1 AND deleted_at IS NULL`),
    params,
  );
  return rows[0] ? toTicket(rows[0]) : undefined;
}

/** Soft delete: the row stays for the audit trail, every read hides it. False if no live ticket. */
export async function softDeleteTicket(
  q: Queryable,
  id: number,
  deletedBy: string,
  reason: string,
): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE tickets SET deleted_at = now(), deleted_by = $2, delete_reason = $3, updated_by = $2, updated_at = now()
     WHERE id = $1 AND deleted_at IS NULL`,
    [id, deletedBy, reason],
  );
  return rowCount > 0;
}

export interface TicketFilter {
  status?: readonly TicketStatus[];
  priority?: readonly TicketPriority[];
  category?: readonly TicketCategory[];
  /** A user id, or null for unassigned tickets. */
  assigneeId?: string | null;
  createdBy?: string;
  text?: string;
}

export type TicketOrder = "created_at" | "updated_at" | "priority" | "id";

export interface TicketPage {
  total: number;
  tickets: Ticket[];
}

function filterClause(f: TicketFilter): Where {
  const w = new Where().add("t.deleted_at IS NULL");
  if (f.status?.length) w.add("t.status = ANY(?::text[])", [...f.status]);
  if (f.priority?.length) w.add("t.priority = ANY(?::text[])", [...f.priority]);
  if (f.category?.length) w.add("t.category = ANY(?::text[])", [...f.category]);
  if (f.assigneeId === null) w.add("t.assignee_id IS NULL");
  else if (f.assigneeId !== undefined) w.add("t.assignee_id = ?", f.assigneeId);
  if (f.createdBy !== undefined) w.add("t.created_by = ?", f.createdBy);
  if (f.text !== undefined) {
    const pattern = likePattern(f.text);
    const asId = /^#?(\d{1,15})$/.exec(f.text.trim());
    if (asId)
      w.add("(t.title ILIKE ? OR t.description ILIKE ? OR t.id = ?)", pattern, pattern, Number(asId[1]));
    else w.add("(t.title ILIKE ? OR t.description ILIKE ?)", pattern, pattern);
  }
  return w;
}

const ORDER_SQL: Record<TicketOrder, string> = {
  created_at: "t.created_at",
  updated_at: "t.updated_at",
  id: "t.id",
  priority: "CASE t.priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END",
};

/**
 * One page of the tickets `filter` matches, and how many match in all — counted in the same
 * statement (an uncorrelated subquery, run once on the statement's snapshot), so a concurrent change can never make the
 * total disagree with the page ("5 match, showing 7").
 */
export async function findTickets(
  q: Queryable,
  filter: TicketFilter,
  page: { orderBy: TicketOrder; direction: "asc" | "desc"; limit: number; offset: number },
): Promise<TicketPage> {
  const w = filterClause(filter);
  const dir = page.direction === "asc" ? "ASC" : "DESC";
  // With free text, title hits rank above description-only hits; id breaks ties so pages are stable.
  const rank = filter.text !== undefined ? `(t.title ILIKE ${w.param(likePattern(filter.text))}) DESC, ` : "";
  // The inner `t` is the counted table's own alias: the filter's clauses read the same there.
  const { rows } = await q.query<TicketRow & { total_matching: number }>(
    `${TICKET_OF_T}, (SELECT count(*) FROM tickets t ${w}) AS total_matching
       FROM tickets t LEFT JOIN users u ON u.id = t.assignee_id ${w}
      ORDER BY ${rank}${ORDER_SQL[page.orderBy]} ${dir}, t.id ${dir}
      LIMIT ${w.param(page.limit)} OFFSET ${w.param(page.offset)}`,
    w.params,
  );
  const first = rows[0];
  if (first) return { total: Number(first.total_matching), tickets: rows.map(toTicket) };
  // No row to carry the total: none matched (at the first page), or the page is past the end.
  if (page.offset === 0) return { total: 0, tickets: [] };
  const counted = filterClause(filter);
  const { rows: count } = await q.query<{ n: number }>(
    `SELECT count(*) AS n FROM tickets t ${counted}`,
    counted.params,
  );
  return { total: count[0]?.n ?? 0, tickets: [] };
}

export interface TicketStats {
  total: number;
  active: number;
  by_status: Record<TicketStatus, number>;
  by_priority: Record<TicketPriority, number>;
  by_category: Record<TicketCategory, number>;
  by_assignee: { assignee_id: string | null; email: string | null; count: number }[];
}

/**
 * Ticket counts by status, priority, category and assignee. One statement (GROUPING SETS), so every
 * breakdown is counted on the same snapshot and they all add up to the same total — separate
 * statements would each see a different moment on PostgreSQL (READ COMMITTED) while tickets change.
 */
export async function ticketStats(
  q: Queryable,
  since: Date | undefined,
  vocab: {
    statuses: readonly TicketStatus[];
    priorities: readonly TicketPriority[];
    categories: readonly TicketCategory[];
  },
  activeStatuses: readonly TicketStatus[],
): Promise<TicketStats> {
  const w = new Where().add("t.deleted_at IS NULL");
  if (since) w.add("t.created_at >= ?", since);
  const { rows } = await q.query<{
    dimension: "status" | "priority" | "category" | "assignee";
    status: string | null;
    priority: string | null;
    category: string | null;
    assignee_id: string | null;
    email: string | null;
    n: number;
  }>(
    `SELECT CASE WHEN GROUPING(t.status) = 0 THEN 'status'
                 WHEN GROUPING(t.priority) = 0 THEN 'priority'
                 WHEN GROUPING(t.category) = 0 THEN 'category'
                 ELSE 'assignee' END AS dimension,
            t.status, t.priority, t.category, t.assignee_id, u.email, count(*) AS n
       FROM tickets t LEFT JOIN users u ON u.id = t.assignee_id ${w}
      GROUP BY GROUPING SETS ((t.status), (t.priority), (t.category), (t.assignee_id, u.email))
      ORDER BY count(*) DESC, t.assignee_id NULLS FIRST`,
    w.params,
  );
  const counts = (dimension: "status" | "priority" | "category") =>
    new Map(rows.filter((r) => r.dimension === dimension).map((r) => [r[dimension] as string, r.n]));
  const zeroFilled = <K extends string>(keys: readonly K[], found: Map<string, number>) =>
    Object.fromEntries(keys.map((k) => [k, found.get(k) ?? 0])) as Record<K, number>;
  const status = counts("status");
  const by_status = zeroFilled(vocab.statuses, status);
  return {
    total: [...status.values()].reduce((a, b) => a + b, 0),
    active: activeStatuses.reduce((sum, s) => sum + by_status[s], 0),
    by_status,
    by_priority: zeroFilled(vocab.priorities, counts("priority")),
    by_category: zeroFilled(vocab.categories, counts("category")),
    by_assignee: rows
      .filter((r) => r.dimension === "assignee")
      .map((r) => ({ assignee_id: r.assignee_id, email: r.email, count: r.n })),
  };
}
