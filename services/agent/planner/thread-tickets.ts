import type { ChatMessage } from "#kit/model/index.js";
import { normalize } from "./normalize.js";
import { ticketNumbers } from "./ticket-refs.js";

/**
 * The ticket the conversation is about, for "close it" and "what about that one?": the one ticket
 * named by the latest message of the thread that names any. A message naming several (a listing)
 * leaves it open, and the planner asks which one.
 */
export function threadTicket(history: readonly ChatMessage[]): number | undefined {
  for (let i = history.length - 1; i >= 0; i--) {
    const m = history[i];
    if (!m || (m.role !== "user" && m.role !== "assistant") || !m.content) continue;
    const ids =
      m.role === "assistant"
        ? [...new Set([...m.content.matchAll(/#(\d{1,9})\b/g)].map((x) => Number(x[1])))]
        : ticketNumbers(normalize(m.content));
    if (ids.length === 1) return ids[0];
    if (ids.length > 1) return undefined;
  }
  return undefined;
}
