import { z } from "zod";
import { getTicket, softDeleteTicket } from "../data/tickets.js";
import { ticketNotFound } from "./get-ticket.js";
import { ticketId } from "./shapes.js";
import { defineTool } from "./tool.js";

/**
 * Soft delete: the row is kept (with who deleted it, when and why) so the audit trail and any
 * investigation can still see it; every tool treats it as gone. Destructive: it runs only after the
 * user's explicit yes to the question `confirm` words (docs/mcp-server.md, "Confirmation before destruction").
 */
export const deleteTicket = defineTool({
  name: "delete_ticket",
  title: "Delete ticket",
  description:
    "Delete a ticket. It disappears from every listing and lookup; the record is kept for the audit trail (soft delete).",
  input: z.strictObject({
    ticket_id: ticketId,
    reason: z.string().trim().max(500).default("").describe("Why it is deleted, up to 500 characters"),
  }),
  output: z.object({ ticket_id: z.number().int(), deleted: z.literal(true), mode: z.literal("soft") }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async confirm(args, ctx) {
    const ticket = await getTicket(ctx.db, args.ticket_id);
    if (!ticket) throw ticketNotFound(args.ticket_id);
    const why = args.reason ? ` (reason: ${args.reason})` : "";
    return {
      message: `Delete ticket #${ticket.id} "${ticket.title}"${why}? It disappears from every listing and lookup; the record is kept for the audit trail.`,
      action: `Delete ticket #${ticket.id}`,
    };
  },
  async run(args, ctx) {
    await ctx.mutate(async (tx) => {
      if (!(await softDeleteTicket(tx, args.ticket_id, ctx.principal.userId, args.reason))) {
        throw ticketNotFound(args.ticket_id);
      }
    });
    return {
      summary: `Ticket #${args.ticket_id} deleted.`,
      data: { ticket_id: args.ticket_id, deleted: true as const, mode: "soft" as const },
    };
  },
});
