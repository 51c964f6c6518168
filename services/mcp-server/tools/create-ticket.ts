import { z } from "zod";
import { insertTicket } from "../data/tickets.js";
import { category, description, priority, ticketOut, title, userRef } from "./shapes.js";
import { defineTool } from "./tool.js";
import { knownUser } from "./user-refs.js";

export const createTicket = defineTool({
  name: "create_ticket",
  title: "Create ticket",
  description: "Create a support ticket. The caller is recorded as its creator.",
  input: z.strictObject({
    title,
    description: description.default(""),
    priority: priority.default("medium"),
    category: category.default("general"),
    assignee: userRef.optional().describe('Optional assignee: a user id, an email, or "me"'),
  }),
  output: z.object({ ticket: ticketOut }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, ctx) {
    const ticket = await ctx.mutate(async (tx) => {
      const assignee = args.assignee ? await knownUser(tx, args.assignee, ctx.principal.userId) : undefined;
      return insertTicket(tx, {
        title: args.title,
        description: args.description,
        priority: args.priority,
        category: args.category,
        source: "manual",
        assigneeId: assignee?.id ?? null,
        createdBy: ctx.principal.userId,
      });
    });
    return {
      summary: `Created ticket #${ticket.id} "${ticket.title}" (${ticket.priority}).`,
      data: { ticket },
    };
  },
});
