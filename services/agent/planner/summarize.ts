import type { ToolCall } from "#kit/model/index.js";
import { withoutCodePrefix } from "../run/tool-error-text.js";
import { decodeToolResult } from "../tool-result-content.js";

const MAX_LISTED = 10;

interface TicketLine {
  id?: unknown;
  title?: unknown;
  status?: unknown;
  priority?: unknown;
}

/** What a failure's code means to the user, unless the error's own words already say it. */
const HINTS: Readonly<Record<string, { readonly text: string; readonly already: RegExp }>> = {
  permission_denied: {
    text: "You (or this agent) are not allowed to do that.",
    already: /\bnot allowed\b|\bnot permitted\b|\bforbidden\b/i,
  },
  not_found: {
    text: "It does not exist.",
    already:
      /\b(?:does not|doesn't|did not|no longer) exists?\b|\bnot found\b|\bno such\b|\bunknown\b|\bdeleted\b/i,
  },
};

/** One short paragraph per tool call: what it did, or the error it returned. */
export function summarizeResult(call: ToolCall, content: string | undefined): string {
  const result = content === undefined ? undefined : decodeToolResult(content);
  if (!result) return `${call.name} returned no readable result.`;
  if (!result.ok && result.error_code === "cancelled") {
    // The user said no to the tool's question (docs/agent.md, "Confirmation"): nothing ran.
    return `${call.name} was cancelled by the user: nothing was changed.`;
  }
  if (!result.ok) {
    // The code is said once, in the parentheses; a hint only when the tool's own words lack it.
    const error = withoutCodePrefix(result.error.trim(), result.error_code);
    const hint = HINTS[result.error_code];
    const extra = hint && !hint.already.test(error) ? ` ${hint.text}` : "";
    return `${call.name} failed (${result.error_code}): ${error}.${extra}`.replace(/([.!?])\./g, "$1");
  }
  const lines = [result.text.trim() || `${call.name} succeeded.`];
  const tickets = ticketsOf(result.data);
  for (const t of tickets.slice(0, MAX_LISTED)) {
    lines.push(`- #${String(t.id)} ${String(t.title)} (${String(t.status)}, ${String(t.priority)})`);
  }
  if (tickets.length > MAX_LISTED) lines.push(`- … and ${tickets.length - MAX_LISTED} more`);
  return lines.join("\n");
}

function ticketsOf(data: unknown): TicketLine[] {
  const tickets = (data as { tickets?: unknown } | undefined)?.tickets;
  return Array.isArray(tickets) ? (tickets.filter((t) => t && typeof t === "object") as TicketLine[]) : [];
}
