import { z } from "zod";
import { getTicket as readTicket } from "../data/tickets.js";
import { ticketId, ticketOut } from "./shapes.js";
import { defineTool, ToolError } from "./tool.js";

export function ticketNotFound(id: number): ToolError {
  return new ToolError("not_found", `ticket ${id} does not exist (or was deleted)`);
}

export const getTicket = defineTool({
  name: "get_ticket",
  title: "Get ticket",
  description: "Get one ticket by its number.",
  input: z.strictObject({ ticket_id: ticketId }),
  output: z.object({ ticket: ticketOut }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(args, ctx) {
    const ticket = await readTicket(ctx.db, args.ticket_id);
    if (!ticket) throw ticketNotFound(args.ticket_id);
    return {
      summary: `Ticket #${ticket.id} "${ticket.title}": ${ticket.status}, ${ticket.priority}, ${ticket.assignee ? `assigned to ${ticket.assignee.email}` : "unassigned"}.`,
      data: { ticket },
    };
  },
});
