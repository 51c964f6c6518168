import { z } from "zod";
import { ModelError } from "#kit/model/index.js";
import { insertTicket } from "../data/tickets.js";
import {
  TICKET_CATEGORIES,
  TICKET_PRIORITIES,
  type TicketCategory,
  type TicketPriority,
} from "../domain/ticket.js";
import { parseTicketTriage, type TriageVocabulary, ticketTriageRequest } from "../triage/ticket-triage.js";
import { category, priority, ticketOut } from "./shapes.js";
import { defineTool, ToolError } from "./tool.js";

const VOCABULARY: TriageVocabulary = {
  categories: TICKET_CATEGORIES,
  priorities: TICKET_PRIORITIES,
  defaultCategory: "general",
  defaultPriority: "medium",
};

export const createTicketWithAi = defineTool({
  name: "create_ticket_with_ai",
  title: "Create ticket from text",
  description:
    "Create a ticket from a free-text request: the model derives title, category and priority; the full text becomes the description.",
  input: z.strictObject({
    text: z
      .string()
      .trim()
      .min(3)
      .max(5_000)
      .describe("The customer's request in their own words, 3–5000 characters"),
  }),
  output: z.object({
    ticket: ticketOut,
    triage: z.object({ title: z.string(), category, priority, model: z.string(), provider: z.string() }),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(args, ctx) {
    // The model call happens before the transaction: no row lock is held while a model thinks.
    let triage: { title: string; category: TicketCategory; priority: TicketPriority };
    let model: string;
    try {
      const completion = await ctx.model.complete(ticketTriageRequest(args.text, VOCABULARY));
      triage = parseTicketTriage(completion, VOCABULARY) as typeof triage;
      model = completion.model;
    } catch (err) {
      if (err instanceof ModelError)
        throw new ToolError("model_unavailable", `could not triage the text: ${err.message}`);
      throw err;
    }
    const ticket = await ctx.mutate((tx) =>
      insertTicket(tx, {
        title: triage.title.length >= 3 ? triage.title : "Support request",
        description: args.text,
        priority: triage.priority,
        category: triage.category,
        source: "ai",
        assigneeId: null,
        createdBy: ctx.principal.userId,
      }),
    );
    return {
      summary: `Created ticket #${ticket.id} "${ticket.title}" (${ticket.category}, ${ticket.priority}) from the text.`,
      data: { ticket, triage: { ...triage, model, provider: ctx.model.kind } },
    };
  },
});
