import { z } from "zod";
import { updateTicket as writeTicket } from "../data/tickets.js";
import { ticketNotFound } from "./get-ticket.js";
import { category, description, priority, ticketId, ticketOut, title } from "./shapes.js";
import { defineTool } from "./tool.js";

export const updateTicket = defineTool({
  name: "update_ticket",
  title: "Update ticket",
  description:
    "Change a ticket's title, description, priority or category. Status and assignee have their own tools (update_ticket_status, assign_ticket).",
  input: z
    .strictObject({
      ticket_id: ticketId,
      title: title.optional(),
      description: description.optional(),
      priority: priority.optional(),
      category: category.optional(),
    })
    .refine(
      (a) =>
        a.title !== undefined ||
        a.description !== undefined ||
        a.priority !== undefined ||
        a.category !== undefined,
      {
        message: "give at least one of title, description, priority, category",
      },
    ),
  output: z.object({ ticket: ticketOut, changed: z.array(z.string()) }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, ctx) {
    const { ticket_id, ...changes } = args;
    const ticket = await ctx.mutate(async (tx) => {
      const updated = await writeTicket(tx, ticket_id, changes, ctx.principal.userId);
      if (!updated) throw ticketNotFound(ticket_id);
      return updated;
    });
    const changed = Object.keys(changes).filter((k) => changes[k as keyof typeof changes] !== undefined);
    return { summary: `Updated ticket #${ticket.id}: ${changed.join(", ")}.`, data: { ticket, changed } };
  },
});
