import type { RunClock } from "../registry/run-context.js";
import { splitDate, undatedNotes } from "./date-notes.js";
import { ask, type ClauseIntent, call } from "./intent.js";
import { tidy } from "./text-parts.js";
import { CATEGORY_ALTERNATIVES, PRIORITY_ALTERNATIVES, ticketFilters } from "./ticket-vocabulary.js";

/**
 * "search for tickets about VPN", "any tickets about the VPN?", "do we have a ticket for the
 * outlook crash": search_tickets with only the topic as the query ("VPN", not "tickets about VPN"),
 * and the status, priority, category or assignee named around it as filters.
 */

const SEARCH_VERB = /\b(?:search|find|look\s+for|look\s+up|lookup|grep)\b/i;
const TOPIC_MARKER =
  /\b(?:about|mentioning|(?:that|which)\s+mentions?|regarding|related to|containing|matching|concerning|with|re:?|for|on)\s+|:\s*/i;
const ABOUT_TICKETS =
  /\b(?:tickets?|bugs|issues)\s+(?:about|mentioning|(?:that|which)\s+mentions?|regarding|related to|containing|re:?|for)\b|^\s*anything\s+(?:on|about)\b|\b(?:do we have|is there|are there)\s+(?:already\s+)?(?:a\s+|any\s+)?tickets?\b/i;
const ALREADY_LOGGED =
  /\b(?:did|has)\s+(?:someone|anyone|somebody)\s+(?:already\s+)?(?:log|logged|file|filed|report|reported|raise|raised)\s+(.+)$/i;
const ASSIGNED_TO = /,?\s*\bassigned\s+to\s+(me|myself|[^\s,;?]+@[^\s,;?]+)/i;
const FILLER =
  /^(?:the|a|an|any|all|some|my|tickets?|please)\s+|\s+(?:tickets?|issues?|problems?|things?|stuff|please)$/i;

export function isSearch(text: string): boolean {
  return SEARCH_VERB.test(text) || ABOUT_TICKETS.test(text) || ALREADY_LOGGED.test(text);
}

export function searchIntent(typed: string, clock?: RunClock): ClauseIntent {
  // The date's words are neither the topic nor a filter ("VPN tickets from this month" is "VPN").
  const { text, date } = splitDate(typed, clock);
  const args: Record<string, unknown> = {};
  let rest = text;
  const assigned = ASSIGNED_TO.exec(rest);
  if (assigned?.[1]) {
    args.assignee = /^(me|myself)$/i.test(assigned[1]) ? "me" : assigned[1];
    rest = rest.replace(assigned[0], " ");
  } else if (/\bmy\s+tickets\b/i.test(rest)) {
    args.assignee = "me";
  }
  const query = topicOf(rest);
  if (!query) return ask("search_tickets", 'What should I search for, e.g. "search tickets about printer"?');
  // Filter words are read only where they describe the tickets, never inside the topic.
  const before = rest.slice(0, Math.max(0, rest.toLowerCase().lastIndexOf(query.toLowerCase())));
  const filters = ticketFilters(before.replace(/\bopen\s+(?=a\b)/i, ""));
  return call("search_tickets", { query, ...filters, ...args }, undatedNotes("search_tickets", date));
}

function topicOf(text: string): string {
  const quoted = /"([^"]+)"|“([^”]+)”/.exec(text);
  if (quoted) return (quoted[1] ?? quoted[2] ?? "").trim().slice(0, 200);
  const logged = ALREADY_LOGGED.exec(text)?.[1];
  if (logged) return clean(logged);
  // After the last search verb ("who reported the slack thing? search slack"), or after "tickets".
  let start = 0;
  for (const m of text.matchAll(new RegExp(SEARCH_VERB, "gi"))) start = (m.index ?? 0) + m[0].length;
  let rest = text.slice(start);
  const tickets = /\btickets?\b/i.exec(rest);
  const anything = /^\s*anything\b/i.exec(rest);
  if (anything) rest = rest.slice(anything[0].length);
  else if (tickets && TOPIC_MARKER.test(rest.slice(tickets.index + tickets[0].length).slice(0, 14))) {
    rest = rest.slice(tickets.index + tickets[0].length);
  }
  const marker = TOPIC_MARKER.exec(rest);
  if (marker && rest.slice(0, marker.index).trim().split(/\s+/).length <= 4) {
    rest = rest.slice((marker.index ?? 0) + marker[0].length);
  }
  return clean(rest);
}

function clean(topic: string): string {
  let t = tidy(topic.replace(/[?!.]+\s*$/, ""));
  const filterWords = new RegExp(
    `^(?:(?:open|closed|resolved|waiting|${PRIORITY_ALTERNATIVES}|${CATEGORY_ALTERNATIVES}|priority)\\s+)+(?=tickets?\\b)`,
    "i",
  );
  t = t.replace(filterWords, "");
  for (let previous = ""; previous !== t; ) {
    previous = t;
    t = t.replace(FILLER, "").trim();
  }
  return t.slice(0, 200);
}
