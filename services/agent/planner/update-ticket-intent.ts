import { call, clarify, type Intent } from "./intent.js";
import { tidy } from "./text-parts.js";
import { categoryOf, priorityOf } from "./ticket-vocabulary.js";

const FIELD =
  /\b(title|description|priority|category)\b\s*(?:to|=|:|as|is)?\s*(.+?)(?=\s*(?:,|;|\band\b)\s*(?:(?:the|its|set)\s+)?(?:title|description|priority|category)\b|$)/gi;
const RENAME = /\brename\b.*?\bto\s+(.+)$/i;
const BARE_PRIORITY = /\b(?:to\s+)?(urgent|critical|high|medium|normal|low)(?:\s+priority)?\b/i;

/** "update ticket 12 title to New title" → update_ticket {ticket_id, title}. */
export function updateTicketIntent(text: string, ticketId: number): Intent {
  const args: Record<string, unknown> = { ticket_id: ticketId };
  for (const match of text.matchAll(FIELD)) {
    const field = (match[1] ?? "").toLowerCase();
    const raw = tidy((match[2] ?? "").replace(/^(?:of\s+)?ticket\s*#?\s*\d+\s*(?:to|=|:|as)?\s*/i, ""));
    if (!raw) continue;
    if (field === "priority") {
      const p = priorityOf(raw.split(/\s+/)[0] ?? "");
      if (!p) return clarify("update_ticket", `"${raw}" is not a priority: use low, medium, high or urgent.`);
      args.priority = p;
    } else if (field === "category") {
      const c = categoryOf(raw);
      if (!c) {
        return clarify(
          "update_ticket",
          `"${raw}" is not a category: use general, technical, bug, account, billing, hardware, network or feature request.`,
        );
      }
      args.category = c;
    } else {
      args[field] = raw;
    }
  }
  const renamed = RENAME.exec(text)?.[1];
  if (renamed && args.title === undefined) args.title = tidy(renamed);
  if (Object.keys(args).length === 1) {
    const bare = BARE_PRIORITY.exec(text)?.[1];
    if (bare) args.priority = priorityOf(bare);
  }
  if (Object.keys(args).length === 1) {
    return clarify(
      "update_ticket",
      `What should change on ticket ${ticketId}? For example: "update ticket ${ticketId} title to New title".`,
    );
  }
  if (typeof args.title === "string" && args.title.length < 3) {
    return clarify("update_ticket", "A ticket title needs at least 3 characters.");
  }
  return call("update_ticket", args);
}
