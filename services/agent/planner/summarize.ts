import type { ToolCall } from "../../kit/model/types.js";
import { decodeToolResult } from "../tool-result-content.js";

const MAX_LISTED = 10;

interface TicketLine {
  id?: unknown;
  title?: unknown;
  status?: unknown;
  priority?: unknown;
}

/** One short paragraph per tool call: what it did, or the error it returned. */
export function summarizeResult(call: ToolCall, content: string | undefined): string {
  const result = content === undefined ? undefined : decodeToolResult(content);
  if (!result) return `${call.name} returned no readable result.`;
  if (!result.ok) {
    const hint =
      result.error_code === "permission_denied"
        ? " You (or this agent) are not allowed to do that."
        : result.error_code === "not_found"
          ? " It does not exist."
          : "";
    return `${call.name} failed (${result.error_code}): ${result.error}.${hint}`.replace(/\.\./g, ".");
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
