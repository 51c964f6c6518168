import { assignTicket } from "./assign-ticket.js";
import { createTicket } from "./create-ticket.js";
import { createTicketWithAi } from "./create-ticket-with-ai.js";
import { deleteTicket } from "./delete-ticket.js";
import { getActiveIntegrations } from "./get-active-integrations.js";
import { getSystemHealth } from "./get-system-health.js";
import { getTicket } from "./get-ticket.js";
import { getTicketStats } from "./get-ticket-stats.js";
import { listIntegrations } from "./list-integrations.js";
import { listTickets } from "./list-tickets.js";
import { searchTickets } from "./search-tickets.js";
import type { ToolSpec } from "./tool.js";
import { updateTicket } from "./update-ticket.js";
import { updateTicketStatus } from "./update-ticket-status.js";

/** The 13 tools of the original system, in its order. */
export const ALL_TOOLS: readonly ToolSpec[] = [
  createTicket,
  searchTickets,
  getTicket,
  updateTicket,
  deleteTicket,
  updateTicketStatus,
  assignTicket,
  listTickets,
  getTicketStats,
  createTicketWithAi,
  listIntegrations,
  getActiveIntegrations,
  getSystemHealth,
];
