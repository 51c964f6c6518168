import type { RunClock } from "../registry/run-context.js";
import type { Args } from "./intent.js";
import { type DateConstraint, dateConstraint, withoutDate } from "./relative-dates.js";

/**
 * What a date in a request becomes for each tool: every constraint is applied or named (docs/agent.md).
 * get_ticket_stats takes a start (`since`) and no end; list_tickets and search_tickets take no date
 * at all (services/mcp-server/tools/). What a tool cannot apply is said in the answer, never dropped.
 */
export interface DatedText {
  /** The clause without the date's words, for the other filters and the search topic. */
  readonly text: string;
  readonly date?: DateConstraint;
}

export function splitDate(text: string, clock: RunClock | undefined): DatedText {
  // Quoted words are a title or a search topic as typed, never a date to apply.
  const date = dateConstraint(
    text.replace(/"[^"]*"|“[^”]*”/g, (q) => " ".repeat(q.length)),
    clock,
  );
  return date ? { text: withoutDate(text, date), date } : { text };
}

/** get_ticket_stats' `since`, and a note when the date is unknown or the period ends before now. */
export function statsDate(date: DateConstraint | undefined): { args: Args; notes: string[] } {
  if (!date) return { args: {}, notes: [] };
  if (!date.since) {
    return {
      args: {},
      notes: [
        `"${date.phrase}" is not applied: I don't know today's date in this conversation, so these counts cover all dates.`,
      ],
    };
  }
  const notes = date.ends
    ? [
        `"${date.phrase}" is applied only as a start: get_ticket_stats has no end date, so these counts run from ${date.since.slice(0, 10)} until now.`,
      ]
    : [];
  return { args: { since: date.since }, notes };
}

/** The note for a listing or search, whose tools have no date filter. */
export function undatedNotes(
  tool: "list_tickets" | "search_tickets",
  date: DateConstraint | undefined,
): string[] {
  return date
    ? [`"${date.phrase}" is not applied: ${tool} has no date filter, so these tickets are from any date.`]
    : [];
}
