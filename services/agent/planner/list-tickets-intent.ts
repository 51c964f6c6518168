import { call, type Intent } from "./intent.js";
import { CATEGORY_WORDS, PRIORITY_WORDS, STATUS_PHRASES } from "./ticket-vocabulary.js";

const ACTIVE = /\b(active|unresolved|pending work|to ?do)\b/i;
const LIMIT = /\b(?:last|latest|newest|top|first)\s+(\d{1,3})\b/i;

/** "list open high priority tickets assigned to me" → list_tickets with those filters. */
export function listTicketsIntent(text: string): Intent {
  const lower = text.toLowerCase();
  const args: Record<string, unknown> = {};

  const statuses = ACTIVE.test(lower)
    ? ["open", "in_progress", "waiting"]
    : STATUS_PHRASES.filter(([pattern]) => pattern.test(lower)).map(([, status]) => status);
  if (statuses.length > 0) args.status = [...new Set(statuses)];

  const priorities = Object.entries(PRIORITY_WORDS)
    .filter(([word]) => new RegExp(`\\b${word}\\b`).test(lower))
    .map(([, p]) => p);
  if (priorities.length > 0) args.priority = [...new Set(priorities)];

  const categories = Object.entries(CATEGORY_WORDS)
    .filter(([word]) => new RegExp(`\\b${word.replace("_", "[ _]")}\\b`).test(lower))
    .map(([, c]) => c);
  if (categories.length > 0) args.category = [...new Set(categories)];

  const assignee = /\bassigned\s+to\s+(me|myself|[^\s,;]+@[^\s,;]+)/i.exec(text)?.[1];
  if (/\bunassigned\b|\bnot assigned\b/.test(lower)) args.assignee = "none";
  else if (assignee) args.assignee = /^(me|myself)$/i.test(assignee) ? "me" : assignee;
  else if (/\bmy\b(\s+[a-z_-]+){0,4}\s+tickets\b/.test(lower)) args.assignee = "me";

  if (/\b(created|opened|filed) by me\b|\bi (created|opened|filed)\b/.test(lower)) args.created_by = "me";
  const limit = Number(LIMIT.exec(lower)?.[1]);
  if (limit >= 1) args.limit = Math.min(limit, 100);
  if (/\boldest\b/.test(lower)) args.order = "asc";
  return call("list_tickets", args);
}
