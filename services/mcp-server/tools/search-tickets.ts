import { z } from "zod";
import { findTickets } from "../data/tickets.js";
import { category, limit, offset, oneOrMany, priority, status, ticketPageOut } from "./shapes.js";
import { defineTool } from "./tool.js";
import { assigneeFilter, assigneeIdFilter } from "./user-refs.js";

export const searchTickets = defineTool({
  name: "search_tickets",
  title: "Search tickets",
  description:
    'Find tickets whose title or description contains the query text (case-insensitive; "#12" or "12" also finds ticket 12), with optional filters and paging. Title matches come first.',
  input: z.strictObject({
    query: z.string().trim().min(1).max(200).describe("Text to look for, 1–200 characters"),
    status: oneOrMany(status, 5).optional(),
    priority: oneOrMany(priority, 4).optional(),
    category: oneOrMany(category, 8).optional(),
    assignee: assigneeFilter.optional(),
    limit,
    offset,
  }),
  output: ticketPageOut,
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(args, ctx) {
    const page = await findTickets(
      ctx.db,
      {
        text: args.query,
        ...(args.status ? { status: args.status } : {}),
        ...(args.priority ? { priority: args.priority } : {}),
        ...(args.category ? { category: args.category } : {}),
        ...(args.assignee !== undefined
          ? { assigneeId: await assigneeIdFilter(ctx.db, args.assignee, ctx.principal.userId) }
          : {}),
      },
      { orderBy: "updated_at", direction: "desc", limit: args.limit, offset: args.offset },
    );
    return {
      summary: `${page.total} ticket(s) match "${args.query}"; showing ${page.tickets.length}.`,
      data: { ...page, limit: args.limit, offset: args.offset },
    };
  },
});
