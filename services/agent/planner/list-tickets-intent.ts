import type { RunClock } from "../registry/run-context.js";
import { splitDate, undatedNotes } from "./date-notes.js";
import { type ClauseIntent, call } from "./intent.js";
import { ticketFilters } from "./ticket-vocabulary.js";

/**
 * "list open high priority tickets assigned to me", "what's on my plate", "anything unassigned?":
 * list_tickets with the filters named, and nothing else.
 */

const LISTING =
  /\btickets?\b|\bqueue\b|\bbacklog\b|\bbugs\b|\bfeature requests\b|\bon my plate\b|\b(?:came|come|coming) in\b|\bmy\b.*\bstuff\b|\bmine\b|\b(?:open|active)\s+for\s+\S+@|\bunassigned\b|\bwhat does \S+ have\b|\bwhat i have\b|\bnew for me\b/i;
const ACTIVE = /\b(active|unresolved|to ?do|queue|backlog|on my plate)\b/i;
const LIMIT =
  /\b(?:last|latest|newest|top|first)\s+(\d{1,3})\b|\b(\d{1,3})\s+(?:latest|newest|most recent(?:ly \w+)?|last)\b/i;
const ASSIGNEE = /\b(?:assigned\s+to|does|for)\s+(me|myself|[^\s,;?]+@[^\s,;?]+)/i;
const CREATOR = /\b(?:created|opened|filed|logged)\s+by\s+(me|myself|[^\s,;?]+@[^\s,;?]+)/i;

export function isListing(text: string): boolean {
  return LISTING.test(text);
}

/** A question or "anything …" that asks which tickets have a state ("what's urgent?", "any open bugs?"). */
const ASKS_WHICH =
  /^\s*(?:what|what's|whats|which|who|who's|whos|any|anything|is|are|do|does|got|have)\b|\?\s*$/i;

/**
 * "what's in progress?", "anything urgent for me?": a question naming a status, priority or
 * category, or "unassigned", runs that filter rather than being asked back (docs/agent.md).
 */
export function isFilterQuestion(text: string): boolean {
  if (!ASKS_WHICH.test(text)) return false;
  return Object.keys(ticketFilters(text)).length > 0 || /\bunassigned\b/i.test(text);
}

export function listTicketsIntent(typed: string, clock?: RunClock): ClauseIntent {
  const { text, date } = splitDate(typed, clock);
  const args: Record<string, unknown> = ACTIVE.test(text)
    ? { status: ["open", "in_progress", "waiting"] }
    : ticketFilters(text.replace(/\bwaiting (on|for) (the )?customer\b/i, "waiting"));
  if (ACTIVE.test(text)) Object.assign(args, withoutStatus(ticketFilters(text)));
  if (/\bnew for me\b/i.test(text)) args.status = ["open"];

  const assignee = ASSIGNEE.exec(text)?.[1];
  const creator = CREATOR.exec(text)?.[1];
  if (/\bunassigned\b|\bnot assigned\b/i.test(text)) args.assignee = "none";
  else if (assignee) args.assignee = /^(me|myself)$/i.test(assignee) ? "me" : assignee;
  else if (/\bmy\b|\bmine\b|\b(?:what|do|did)\s+i\s+have\b/i.test(text)) args.assignee = "me";

  if (creator) args.created_by = /^(me|myself)$/i.test(creator) ? "me" : creator;
  else if (/\bi\s+(created|opened|filed|logged|raised)\b|\bdid i (create|open|file|log)\b/i.test(text)) {
    args.created_by = "me";
  }
  const limit = LIMIT.exec(text);
  const n = Number(limit?.[1] ?? limit?.[2]);
  if (n >= 1) args.limit = Math.min(n, 100);
  if (/\boldest\b/i.test(text)) args.order = "asc";
  if (/\b(sorted|ordered|order|sort)\s+by\s+priority\b/i.test(text)) args.order_by = "priority";
  else if (/\b(recently|last)\s+updated\b|\bby update\b/i.test(text)) args.order_by = "updated_at";
  return call("list_tickets", args, undatedNotes("list_tickets", date));
}

function withoutStatus(filters: Record<string, unknown>): Record<string, unknown> {
  const { status: _status, ...rest } = filters;
  return rest;
}
