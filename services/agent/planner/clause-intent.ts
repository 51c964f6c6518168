import type { RunClock } from "../registry/run-context.js";
import { CREATE_TICKET, createTicketIntent, withAiIntent } from "./create-ticket-intent.js";
import type { ClauseIntent } from "./intent.js";
import { isFilterQuestion, isListing, listTicketsIntent } from "./list-tickets-intent.js";
import { healthIntent, integrationsIntent, statsIntent, toolsIntent } from "./overview-intents.js";
import { isSearch, searchIntent } from "./search-intent.js";
import { isTicketAction, ticketActionIntent } from "./ticket-action-intent.js";
import { pronounOf, ticketNumbers } from "./ticket-refs.js";
import { namedTool, namedToolIntent } from "./tool-names.js";

/** A verb that changes a ticket: a listing that has one ("close all open tickets") is not a listing. */
const WRITE_VERB =
  /\b(close|reopen|resolve|mark|set|move|put|delete|remove|assign|unassign|reassign|give|change|update|rename|make|bump|escalate|downgrade|start|trash|nuke)\b/i;

/**
 * One clause (already normalized) → what it asks for. Rules are tried in order, first match wins;
 * the order matters where phrases overlap: free-text creates before everything (their text may say
 * anything), overview requests before tickets, a search before a read ("find the VPN ticket").
 * A tool named by its name ("delete_ticket 5") is that tool's request, read in words. `clock` (the
 * run context's) turns "today" or "since last week" into arguments.
 */
export function clauseIntent(text: string, clock?: RunClock): ClauseIntent {
  const named = namedTool(text);
  if (named) return namedToolIntent(named.tool, readClause(named.inWords, clock));
  return readClause(text, clock);
}

function readClause(text: string, clock: RunClock | undefined): ClauseIntent {
  const early = toolsIntent(text) ?? withAiIntent(text);
  if (early) return early;
  if (CREATE_TICKET.test(text)) return createTicketIntent(text);
  const overview = integrationsIntent(text) ?? healthIntent(text) ?? statsIntent(text, clock);
  if (overview) return overview;

  const numbers = ticketNumbers(text);
  const pronoun = pronounOf(text);
  if (isSearch(text)) {
    const search = searchIntent(text, clock);
    // "look up #88" is a read of ticket 88, not a text search for "88".
    const query = search.kind === "call" ? String(search.args.query) : "";
    if (!/^#?\s*\d+$/.test(query) || /["“]/.test(text)) return search;
  }
  // A question naming a filter ("what's in progress?") lists with it, like "list in progress tickets".
  const listing = isListing(text) || isFilterQuestion(text);
  if (numbers.length === 0 && !pronoun && listing && !WRITE_VERB.test(text)) {
    return listTicketsIntent(text, clock);
  }
  if (isTicketAction(text) || numbers.length > 0 || pronoun) {
    const action = ticketActionIntent(text);
    if (action.kind !== "unknown" || !listing) return action;
  }
  if (listing) return listTicketsIntent(text, clock);
  return { kind: "unknown" };
}
