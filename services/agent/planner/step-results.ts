import type { ToolCall } from "#kit/model/index.js";
import { decodeToolResult } from "../tool-result-content.js";

/** The ticket a finished step hands to the next ("create …, then assign it"), or why it can't. */
export type TicketOutcome = { readonly id: number } | { readonly reason: string };

export function ticketOfResult(call: ToolCall, content: string | undefined): TicketOutcome {
  const result = content === undefined ? undefined : decodeToolResult(content);
  if (!result) return { reason: `${call.name} returned no readable result` };
  if (!result.ok) return { reason: `${call.name} failed (${result.error_code})` };
  const data = result.data as { ticket?: { id?: unknown }; tickets?: { id?: unknown }[] } | undefined;
  if (typeof data?.ticket?.id === "number") return { id: data.ticket.id };
  const tickets = Array.isArray(data?.tickets) ? data.tickets : undefined;
  if (tickets?.length === 1 && typeof tickets[0]?.id === "number") return { id: tickets[0].id };
  const query = (JSON.parse(call.arguments || "{}") as { query?: unknown }).query;
  const what = typeof query === "string" ? ` "${query}"` : "";
  if (!tickets || tickets.length === 0)
    return { reason: `no ticket matched${what}, so there was nothing to act on` };
  const ids = tickets.slice(0, 5).map((t) => `#${String(t.id)}`);
  return {
    reason: `${tickets.length} tickets matched${what} (${ids.join(", ")}${tickets.length > 5 ? ", …" : ""}), so I did not pick one: which ticket do you mean?`,
  };
}
