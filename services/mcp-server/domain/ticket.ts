/**
 * The ticket vocabulary and its rules. The database CHECK constraints, the tools' zod schemas and
 * the triage vocabulary all derive from these lists, so they cannot drift apart.
 */

export const TICKET_STATUSES = ["open", "in_progress", "waiting", "resolved", "closed"] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

export const TICKET_PRIORITIES = ["low", "medium", "high", "urgent"] as const;
export type TicketPriority = (typeof TICKET_PRIORITIES)[number];

export const TICKET_CATEGORIES = [
  "general",
  "technical",
  "bug",
  "account",
  "billing",
  "hardware",
  "network",
  "feature_request",
] as const;
export type TicketCategory = (typeof TICKET_CATEGORIES)[number];

/**
 * Allowed status changes. Work moves forward freely; resolved tickets can be closed or reopened;
 * a closed ticket can only be reopened (to "open"), so nothing jumps from closed straight back into
 * progress without a visible reopen step in the audit trail.
 */
export const STATUS_TRANSITIONS: Readonly<Record<TicketStatus, readonly TicketStatus[]>> = {
  open: ["in_progress", "waiting", "resolved", "closed"],
  in_progress: ["open", "waiting", "resolved", "closed"],
  waiting: ["open", "in_progress", "resolved", "closed"],
  resolved: ["open", "in_progress", "closed"],
  closed: ["open"],
};

export function canTransition(from: TicketStatus, to: TicketStatus): boolean {
  return STATUS_TRANSITIONS[from].includes(to);
}

/** Statuses that count as "still to do" in statistics. */
export const ACTIVE_STATUSES: readonly TicketStatus[] = ["open", "in_progress", "waiting"];

/** Priority order for sorting (higher first when descending). */
export const PRIORITY_RANK: Readonly<Record<TicketPriority, number>> = {
  low: 1,
  medium: 2,
  high: 3,
  urgent: 4,
};
