import { z } from "zod";
import { ticketStats } from "../data/tickets.js";
import { ACTIVE_STATUSES, TICKET_CATEGORIES, TICKET_PRIORITIES, TICKET_STATUSES } from "../domain/ticket.js";
import { defineTool } from "./tool.js";

const counts = <T extends readonly [string, ...string[]]>(keys: T) =>
  z.object(Object.fromEntries(keys.map((k) => [k, z.number().int()])) as Record<T[number], z.ZodNumber>);

export const getTicketStats = defineTool({
  name: "get_ticket_stats",
  title: "Ticket statistics",
  description:
    "Count tickets by status, priority, category and assignee, optionally only those created since a date.",
  input: z.strictObject({
    since: z.iso
      .datetime({ offset: true })
      .optional()
      .describe("Only tickets created at or after this ISO 8601 time"),
  }),
  output: z.object({
    total: z.number().int(),
    active: z.number().int().describe("open + in_progress + waiting"),
    by_status: counts(TICKET_STATUSES),
    by_priority: counts(TICKET_PRIORITIES),
    by_category: counts(TICKET_CATEGORIES),
    by_assignee: z.array(
      z.object({ assignee_id: z.string().nullable(), email: z.string().nullable(), count: z.number().int() }),
    ),
    since: z.string().nullable(),
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(args, ctx) {
    const since = args.since ? new Date(args.since) : undefined;
    const stats = await ticketStats(
      ctx.db,
      since,
      { statuses: TICKET_STATUSES, priorities: TICKET_PRIORITIES, categories: TICKET_CATEGORIES },
      ACTIVE_STATUSES,
    );
    return {
      summary: `${stats.total} ticket(s), ${stats.active} still active (${stats.by_status.open} open, ${stats.by_status.in_progress} in progress, ${stats.by_status.waiting} waiting).`,
      data: { ...stats, since: since ? since.toISOString() : null },
    };
  },
});
