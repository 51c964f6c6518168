import type { ToolName } from "#kit/contract/index.js";
import { ask, type ClauseIntent } from "./intent.js";
import { tidy } from "./text-parts.js";
import { pronounOf, ticketNumbers } from "./ticket-refs.js";
import { parseUpdate, UPDATE_CUE } from "./update-ticket-intent.js";

/**
 * What to do with a ticket the clause names (or "it"): delete, (un)assign, update, change its
 * status, or read it. Writes need a word that asks for them; a clause that names a ticket and
 * only asks about it is a read; anything else is a question back, never a guessed write.
 */

const DELETE = /\b(delete|remove|trash|nuke|get rid of|discard|purge)\b/i;
const DELETE_REASON =
  /(?:\s*\b(?:because|since|reason\s*:?|as)\s+|\s*[,;]\s*|\s+[-–—]\s+)(?!(?:and|then)\b)(.+)$/i;
const UNASSIGN = /\bunassign\b|\bremove\s+(?:the\s+)?assignee\b|\btake\s+me\s+off\b|\bno\s+assignee\b/i;
const ASSIGN =
  /\b(assign|reassign|give|hand|take|grab|handle|put my name on|pick up)\b|->\s*(?:me\b|[^\s,;]+@[^\s,;]+)/i;
const ASSIGN_TARGET =
  /\b(?:to|->)\s+(me|myself|[^\s,;]+@[^\s,;]+|[a-z][a-z0-9._-]{1,63})\b|->\s*([^\s,;]+@[^\s,;]+)/i;
const NOT_A_PERSON = /^(someone|somebody|anyone|anybody|them|it|that|the|a|an|open|progress|do|be)$/i;

/** Status changes, most specific first; `reopen` before `open`. */
const STATUS_CHANGES: readonly (readonly [RegExp, string])[] = [
  [/\breopen(ed)?\b|\bback to open\b|\b(?:as|to)\s+open\b/i, "open"],
  [
    /\bin[\s_-]?progress\b|\bstart(?:ed)?\s+(?:work(?:ing)?\s+)?on\b|\bwork(?:ing)?\s+on\b|\bi'?m on it\b/i,
    "in_progress",
  ],
  [/\b(waiting|on hold|pending)\b/i, "waiting"],
  [/\b(resolve[sd]?|solved?|fixed|done)\b/i, "resolved"],
  [/\b(close[sd]?|close out)\b/i, "closed"],
];
/** A question about a ticket ("is 27 still open?") reads it; it does not change it. */
const QUESTION =
  /^\s*(?:is|are|was|what|what's|whats|who|who's|whos|which|where|any|did|does|has|how|can i see)\b|\?\s*$/i;
const READ_CUE =
  /\b(show|get|view|open|look|lookup|see|details?|display|fetch|check|pull|status|what|what's|whats|who|who's|whos|where|any|update on|about|need|info|up with|did|anyone|yet|how)\b|\?|\b(?:summari[sz]e|summary|recap|brief|describe|explain|tell|gist|sum up|rundown|overview)\b/i;
/**
 * "give me a summary of ticket 9", "give me the gist of #12": the caller wants to read, not to
 * take the ticket ("give me 33" assigns it).
 */
const GIVE_ME_READING =
  /\b(?:give|send|get)\s+me\s+(?:a|an|the|some)?\s*(?:quick|short|brief)?\s*(?:summary|gist|rundown|recap|overview|details?|status|update|info)\b/i;
const FILLER =
  /\b(?:please|ticket|tickets|number|no|nr|id|the|me|for|can|could|you|again|one|and|it|that|this|pls|hey|ok|okay)\b|#|\d+|[,.!?]/gi;

export function isTicketAction(text: string): boolean {
  return (
    DELETE.test(text) ||
    UNASSIGN.test(text) ||
    ASSIGN.test(text) ||
    UPDATE_CUE.test(text) ||
    STATUS_CHANGES.some(([p]) => p.test(text))
  );
}

export function ticketActionIntent(text: string): ClauseIntent {
  const onTicket = (tool: ToolName, args: Record<string, unknown>, refText = text): ClauseIntent => ({
    kind: "ticket",
    tool,
    args,
    numbers: ticketNumbers(refText),
    pronoun: pronounOf(refText),
  });

  if (/\b(all|every|everything)\b/i.test(text) && ticketNumbers(text).length === 0 && !pronounOf(text)) {
    const tool = DELETE.test(text)
      ? "delete_ticket"
      : STATUS_CHANGES.some(([p]) => p.test(text))
        ? "update_ticket_status"
        : "update_ticket";
    return ask(tool, "I change tickets one at a time: which ticket numbers do you mean?");
  }
  if (UNASSIGN.test(text)) return onTicket("assign_ticket", { assignee: null });
  if (DELETE.test(text) && !/\bremove\b.*\bfrom\b/i.test(text)) {
    const verb = DELETE.exec(text);
    const after = text.slice((verb?.index ?? 0) + (verb?.[0].length ?? 0));
    // The reason follows the ticket: "delete 78 - test ticket", "remove ticket 77, it's spam".
    const target = /^\s*(?:(?:tickets?|#|\s|\d+|,|and|&|it|that|them|both|those)\b\s*)+/i.exec(after);
    const tail = target ? after.slice(target[0].length) : after;
    const reason = DELETE_REASON.exec(` ${tail}`)?.[1];
    const head = reason ? text.slice(0, text.length - tail.length) : text;
    const cleanReason = reason ? tidy(reason.replace(/^(?:as|because)\s+/i, "")).slice(0, 500) : "";
    return onTicket("delete_ticket", cleanReason ? { reason: cleanReason } : {}, head);
  }
  if (ASSIGN.test(text) && !/\bpick up\b.*\?|\bdid\b.*\bpick up\b/i.test(text) && !GIVE_ME_READING.test(text))
    return assignIntent(text, onTicket);

  const question = QUESTION.test(text);
  if (UPDATE_CUE.test(text) && !question) {
    const update = parseUpdate(text);
    if (update.kind === "ask") return update.intent;
    if (Object.keys(update.args).length > 0) return onTicket("update_ticket", update.args, update.rest);
  }
  if (!question) {
    const status = STATUS_CHANGES.find(([pattern]) => pattern.test(text))?.[1];
    if (status) return onTicket("update_ticket_status", { status });
  }
  if (!question && /\b(update|change|edit|set|move|modify|rename|make)\b/i.test(text)) {
    return ask(
      "update_ticket",
      "What should change: the title, description, priority, category, status or assignee?",
    );
  }
  const numbers = ticketNumbers(text);
  const pronoun = pronounOf(text);
  const leftover = text.replace(FILLER, " ").trim();
  if ((numbers.length > 0 || pronoun) && (READ_CUE.test(text) || leftover === "")) {
    return onTicket("get_ticket", {});
  }
  return { kind: "unknown" };
}

function assignIntent(
  text: string,
  onTicket: (tool: ToolName, args: Record<string, unknown>, refText?: string) => ClauseIntent,
): ClauseIntent {
  // "I'll take 12", "give me 33", "assign me to ticket 82", "put my name on #60": the caller.
  const toMe =
    /\b(i'?ll|i will|let me|i can)\s+(take|handle|grab)\b|^\s*(?:please\s+)?(?:take|grab)\b(?!.*\bto\b)|\bgive me\b|\bassign me\b|\bput my name on\b/i;
  if (toMe.test(text)) {
    return onTicket("assign_ticket", { assignee: "me" }, text.replace(/\bgive me\b/i, "give"));
  }
  const target = ASSIGN_TARGET.exec(text.replace(/\s+(?:please|now)\b/gi, ""));
  const who = target?.[1] ?? target?.[2];
  if (!who || NOT_A_PERSON.test(who) || /^\d+$/.test(who)) {
    return ask("assign_ticket", 'Who should it go to: an email address, or "me"?');
  }
  const assignee = /^(me|myself)$/i.test(who) ? "me" : who;
  return onTicket("assign_ticket", { assignee }, text.replace(target?.[0] ?? "", " "));
}
