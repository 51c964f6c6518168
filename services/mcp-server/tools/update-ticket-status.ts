import { z } from "zod";
import { lockTicket, updateTicket } from "../data/tickets.js";
import { canTransition, STATUS_TRANSITIONS } from "../domain/ticket.js";
import { ticketNotFound } from "./get-ticket.js";
import { status, ticketId, ticketOut } from "./shapes.js";
import { defineTool, ToolError } from "./tool.js";

export const updateTicketStatus = defineTool({
  name: "update_ticket_status",
  title: "Change ticket status",
  description:
    "Move a ticket to another status. Allowed: open → in_progress/waiting/resolved/closed; in_progress → open/waiting/resolved/closed; waiting → open/in_progress/resolved/closed; resolved → open/in_progress/closed; closed → open (reopen).",
  input: z.strictObject({ ticket_id: ticketId, status }),
  output: z.object({ ticket: ticketOut, previous_status: status }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, ctx) {
    const { ticket, previous } = await ctx.mutate(async (tx) => {
      // Lock first: two concurrent changes must each see the status the other left behind.
      const current = await lockTicket(tx, args.ticket_id);
      if (!current) throw ticketNotFound(args.ticket_id);
      if (!canTransition(current.status, args.status)) {
        const allowed = STATUS_TRANSITIONS[current.status].join(", ");
        throw new ToolError(
          "invalid_transition",
          current.status === args.status
            ? `ticket ${args.ticket_id} is already ${args.status}`
            : `ticket ${args.ticket_id} cannot go from ${current.status} to ${args.status}; from ${current.status} it can go to: ${allowed}`,
        );
      }
      const updated = await updateTicket(tx, args.ticket_id, { status: args.status }, ctx.principal.userId);
      if (!updated) throw ticketNotFound(args.ticket_id);
      return { ticket: updated, previous: current.status };
    });
    return {
      summary: `Ticket #${ticket.id} moved from ${previous} to ${ticket.status}.`,
      data: { ticket, previous_status: previous },
    };
  },
});
