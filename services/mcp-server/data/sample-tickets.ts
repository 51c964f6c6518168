import type { TicketCategory, TicketPriority, TicketStatus } from "../domain/ticket.js";

/**
 * The author of the development sample tickets. `created_by` holds a token's `sub` (docs/mcp-server.md,
 * "Data"), and the seeded people's real ids live in the identity service's database, which this
 * server cannot read: rather than invent user ids, the samples name a system author nobody can log in as.
 */
export const SAMPLE_TICKET_AUTHOR = "system:sample-data";

export interface SampleTicket {
  readonly title: string;
  readonly description: string;
  readonly status: TicketStatus;
  readonly priority: TicketPriority;
  readonly category: TicketCategory;
  /** A seeded user's email (docs/mcp-server.md, "Who is a known user"), or null for unassigned. */
  readonly assignee: string | null;
  /** Age in hours at seeding time; updated_at is `updatedHoursAgo` (≤ age). */
  readonly createdHoursAgo: number;
  readonly updatedHoursAgo: number;
}

/** A realistic small queue for a fresh development stack (docs/mcp-server.md, "Sample tickets"). */
export const SAMPLE_TICKETS: readonly SampleTicket[] = [
  {
    title: "Cannot log in after password reset",
    description:
      "Customer reset their password this morning; the login page now says 'invalid credentials'. Tried two browsers.",
    status: "open",
    priority: "high",
    category: "account",
    assignee: null,
    createdHoursAgo: 2,
    updatedHoursAgo: 2,
  },
  {
    title: "Invoice #4821 charged twice",
    description:
      "The March invoice appears twice on the customer's card statement. They ask for a refund of the duplicate charge.",
    status: "open",
    priority: "urgent",
    category: "billing",
    assignee: "agent@company.com",
    createdHoursAgo: 5,
    updatedHoursAgo: 4,
  },
  {
    title: "VPN drops every 10 minutes from the Lyon office",
    description:
      "Several users in Lyon lose the VPN tunnel roughly every 10 minutes since the router firmware update.",
    status: "in_progress",
    priority: "high",
    category: "network",
    assignee: "agent@company.com",
    createdHoursAgo: 30,
    updatedHoursAgo: 3,
  },
  {
    title: "Export to CSV drops accented characters",
    description: "Names like 'Zoë' and 'François' come out as '?' in the CSV export of the contacts list.",
    status: "open",
    priority: "medium",
    category: "bug",
    assignee: "admin@company.com",
    createdHoursAgo: 50,
    updatedHoursAgo: 26,
  },
  {
    title: "Laptop battery swelling",
    description:
      "The customer's laptop (2023 model) no longer closes flat; the battery looks swollen. Replacement requested.",
    status: "waiting",
    priority: "high",
    category: "hardware",
    assignee: "agent@company.com",
    createdHoursAgo: 74,
    updatedHoursAgo: 20,
  },
  {
    title: "Add dark mode to the customer portal",
    description: "Several customers asked for a dark theme in the self-service portal.",
    status: "open",
    priority: "low",
    category: "feature_request",
    assignee: null,
    createdHoursAgo: 120,
    updatedHoursAgo: 120,
  },
  {
    title: "Mobile app crashes when attaching a photo",
    description:
      "iOS app 4.2 closes immediately when a photo is attached to a new request. Reproduced on two devices.",
    status: "in_progress",
    priority: "urgent",
    category: "bug",
    assignee: "admin@company.com",
    createdHoursAgo: 9,
    updatedHoursAgo: 1,
  },
  {
    title: "How do I change the billing contact?",
    description: "The customer wants invoices sent to their finance team instead of the account owner.",
    status: "resolved",
    priority: "low",
    category: "general",
    assignee: "agent@company.com",
    createdHoursAgo: 96,
    updatedHoursAgo: 70,
  },
  {
    title: "Slow dashboard load times",
    description: "The analytics dashboard takes 15–20 s to load for accounts with more than 10k tickets.",
    status: "open",
    priority: "medium",
    category: "technical",
    assignee: null,
    createdHoursAgo: 28,
    updatedHoursAgo: 28,
  },
  {
    title: "Printer on the 3rd floor jams on duplex",
    description: "Double-sided printing jams every few pages; single-sided works.",
    status: "closed",
    priority: "low",
    category: "hardware",
    assignee: "agent@company.com",
    createdHoursAgo: 240,
    updatedHoursAgo: 200,
  },
];
