import { z } from "zod";
import { updateTicket } from "../data/tickets.js";
import { ticketNotFound } from "./get-ticket.js";
import { ticketId, ticketOut, userRef } from "./shapes.js";
import { defineTool } from "./tool.js";
import { knownUser } from "./user-refs.js";

export const assignTicket = defineTool({
  name: "assign_ticket",
  title: "Assign ticket",
  description:
    'Assign a ticket to a known user (by user id, email, or "me"), or pass null to unassign. Known users are the seeded staff and everyone who has signed in.',
  input: z.strictObject({ ticket_id: ticketId, assignee: userRef.nullable() }),
  output: z.object({ ticket: ticketOut }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, ctx) {
    const ticket = await ctx.mutate(async (tx) => {
      const assignee =
        args.assignee === null ? null : await knownUser(tx, args.assignee, ctx.principal.userId);
      const updated = await updateTicket(
        tx,
        args.ticket_id,
        { assigneeId: assignee?.id ?? null },
        ctx.principal.userId,
      );
      if (!updated) throw ticketNotFound(args.ticket_id);
      return updated;
    });
    return {
      summary: ticket.assignee
        ? `Ticket #${ticket.id} assigned to ${ticket.assignee.email}.`
        : `Ticket #${ticket.id} is now unassigned.`,
      data: { ticket },
    };
  },
});
