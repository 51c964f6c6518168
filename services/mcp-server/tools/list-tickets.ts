import { z } from "zod";
import { findTickets } from "../data/tickets.js";
import { category, limit, offset, oneOrMany, priority, status, ticketPageOut } from "./shapes.js";
import { defineTool } from "./tool.js";
import { assigneeFilter, assigneeIdFilter, creatorIdFilter } from "./user-refs.js";

export const listTickets = defineTool({
  name: "list_tickets",
  title: "List tickets",
  description:
    "List tickets with optional filters (status, priority, category, assignee, creator), ordering and paging.",
  input: z.strictObject({
    status: oneOrMany(status, 5).optional(),
    priority: oneOrMany(priority, 4).optional(),
    category: oneOrMany(category, 8).optional(),
    assignee: assigneeFilter.optional(),
    created_by: z
      .string()
      .trim()
      .min(1)
      .max(254)
      .optional()
      .describe('Creator: a user id, an email, or "me"'),
    order_by: z.enum(["created_at", "updated_at", "priority", "id"]).default("created_at"),
    order: z.enum(["asc", "desc"]).default("desc"),
    limit,
    offset,
  }),
  output: ticketPageOut,
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(args, ctx) {
    const me = ctx.principal.userId;
    const page = await findTickets(
      ctx.db,
      {
        ...(args.status ? { status: args.status } : {}),
        ...(args.priority ? { priority: args.priority } : {}),
        ...(args.category ? { category: args.category } : {}),
        ...(args.assignee !== undefined
          ? { assigneeId: await assigneeIdFilter(ctx.db, args.assignee, me) }
          : {}),
        ...(args.created_by !== undefined
          ? { createdBy: await creatorIdFilter(ctx.db, args.created_by, me) }
          : {}),
      },
      { orderBy: args.order_by, direction: args.order, limit: args.limit, offset: args.offset },
    );
    return {
      summary: `${page.total} ticket(s) match; showing ${page.tickets.length} from offset ${args.offset}.`,
      data: { ...page, limit: args.limit, offset: args.offset },
    };
  },
});
