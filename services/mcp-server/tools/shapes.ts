import { z } from "zod";
import { TICKET_CATEGORIES, TICKET_PRIORITIES, TICKET_STATUSES } from "../domain/ticket.js";

/** Input and output pieces shared by the ticket tools, with the limits docs/mcp-server.md asks for. */

export const ticketId = z
  .number()
  .int()
  .positive()
  .max(Number.MAX_SAFE_INTEGER)
  .describe("Ticket number, e.g. 12");
export const status = z.enum(TICKET_STATUSES);
export const priority = z.enum(TICKET_PRIORITIES);
export const category = z.enum(TICKET_CATEGORIES);
export const title = z.string().trim().min(3).max(200).describe("Short summary, 3–200 characters");
export const description = z.string().trim().max(5_000).describe("Details, up to 5000 characters");
export const userRef = z
  .string()
  .trim()
  .min(1)
  .max(254)
  .describe('A user id, an email address, or "me" for the caller');

/** One value or a list of them (models send either); always a list after parsing. */
export function oneOrMany<T extends z.ZodType>(item: T, max: number) {
  return z
    .union([item, z.array(item).min(1).max(max)])
    .transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);
}

export const limit = z.number().int().min(1).max(100).default(20).describe("Page size, 1–100 (default 20)");
export const offset = z.number().int().min(0).max(10_000).default(0).describe("Rows to skip (default 0)");

export const assigneeOut = z.object({ id: z.string(), email: z.string(), name: z.string() }).nullable();

export const ticketOut = z.object({
  id: z.number().int(),
  title: z.string(),
  description: z.string(),
  status,
  priority,
  category,
  assignee: assigneeOut,
  source: z.enum(["manual", "ai"]),
  created_by: z.string().describe("User id of the creator, from the caller's token"),
  updated_by: z.string().describe("User id of the last editor, from the caller's token"),
  created_at: z.string(),
  updated_at: z.string(),
});

export const ticketPageOut = z.object({
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
  tickets: z.array(ticketOut),
});

/** "me" → the caller's id. */
export function resolveMe(ref: string, callerId: string): string {
  return ref.toLowerCase() === "me" ? callerId : ref;
}
