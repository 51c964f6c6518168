import { CREATE_TICKET, createTicketIntent, withAiIntent } from "./create-ticket-intent.js";
import type { ClauseIntent } from "./intent.js";
import { isListing, listTicketsIntent } from "./list-tickets-intent.js";
import { healthIntent, integrationsIntent, statsIntent, toolsIntent } from "./overview-intents.js";
import { isSearch, searchIntent } from "./search-intent.js";
import { isTicketAction, ticketActionIntent } from "./ticket-action-intent.js";
import { pronounOf, ticketNumbers } from "./ticket-refs.js";

/** A verb that changes a ticket: a listing that has one ("close all open tickets") is not a listing. */
const WRITE_VERB =
  /\b(close|reopen|resolve|mark|set|move|put|delete|remove|assign|unassign|reassign|give|change|update|rename|make|bump|escalate|downgrade|start|trash|nuke)\b/i;

/**
 * One clause (already normalized) → what it asks for. Rules are tried in order, first match wins;
 * the order matters where phrases overlap: free-text creates before everything (their text may say
 * anything), overview requests before tickets, a search before a read ("find the VPN ticket").
 */
export function clauseIntent(text: string): ClauseIntent {
  const early = toolsIntent(text) ?? withAiIntent(text);
  if (early) return early;
  if (CREATE_TICKET.test(text)) return createTicketIntent(text);
  const overview = integrationsIntent(text) ?? healthIntent(text) ?? statsIntent(text);
  if (overview) return overview;

  const numbers = ticketNumbers(text);
  const pronoun = pronounOf(text);
  if (isSearch(text)) {
    const search = searchIntent(text);
    // "look up #88" is a read of ticket 88, not a text search for "88".
    const query = search.kind === "call" ? String(search.args.query) : "";
    if (!/^#?\s*\d+$/.test(query) || /["“]/.test(text)) return search;
  }
  if (numbers.length === 0 && !pronoun && isListing(text) && !WRITE_VERB.test(text)) {
    return listTicketsIntent(text);
  }
  if (isTicketAction(text) || numbers.length > 0 || pronoun) {
    const action = ticketActionIntent(text);
    if (action.kind !== "unknown" || !isListing(text)) return action;
  }
  if (isListing(text)) return listTicketsIntent(text);
  return { kind: "unknown" };
}
