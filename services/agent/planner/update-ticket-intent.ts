import { type Args, ask } from "./intent.js";
import { tidy } from "./text-parts.js";
import { CATEGORY_PATTERN, categoryOf, PRIORITY_PATTERN, priorityOf } from "./ticket-vocabulary.js";

/**
 * Changes to a ticket's title, description, priority or category: "set prio of #4 to high",
 * "bump 4 to urgent", "make #59 a bug", "rename ticket 20 to Printer jam". Returns the arguments
 * (without `ticket_id`) and the clause without the new values, so ticket numbers are read only
 * from what is left ("rename 20 to Printer jam on floor 2" is ticket 20, not 2).
 */

export const UPDATE_CUE =
  /\b(title|description|priority|category|(?:re)?categori[sz]e|rename|bump|escalate|downgrade|lower|raise|deprioriti[sz]e)\b|->\s*(?:urgent|critical|high|medium|normal|low)\b|\b(?:make|mark|flag|should be|is now|needs to be)\b.*\b(?:urgent|critical|high|medium|normal|low|a\s+(?:bug|feature request))\b/i;

const TEXT_VALUE =
  /\b(title|description)\b(?:\s+(?:of|on|for)\s+(?:ticket\s*)?#?\s*(?:\d+|it|that))?\s*(?:to|=|:|as|is)\s+(.+)$/i;
const RENAME = /\brename\b(.*?)\bto\s+(.+)$/i;

export type UpdateParse =
  | { readonly kind: "update"; readonly args: Args; readonly rest: string }
  | { readonly kind: "ask"; readonly intent: ReturnType<typeof ask> };

export function parseUpdate(text: string): UpdateParse {
  const args: Record<string, unknown> = {};
  let rest = text;

  const renamed = RENAME.exec(rest);
  if (renamed?.[2]) {
    args.title = unquote(renamed[2]);
    rest = `${rest.slice(0, renamed.index)} rename ${renamed[1] ?? ""}`;
  } else {
    const value = TEXT_VALUE.exec(rest);
    if (value?.[1] && value[2]) {
      args[value[1].toLowerCase()] = unquote(value[2]);
      rest = rest.slice(0, value.index + value[0].length - value[2].length);
    }
  }

  // "131 isn't urgent, make it low": a level the sentence denies is not the one asked for.
  const priority = PRIORITY_PATTERN.exec(
    rest.replace(/\b(?:isn'?t|is not|not|no longer|aren'?t)\s+(?:really\s+|that\s+)?\w+/gi, " "),
  )?.[1];
  if (priority) args.priority = priorityOf(priority);
  else if (/\bescalate\b/i.test(rest)) args.priority = "urgent";
  else if (/\b(bump|raise)\b/i.test(rest) && /\bpriority\b|\bbump\b/i.test(rest)) args.priority = "high";
  else if (
    /\bpriority\b/i.test(rest) &&
    /\b(?:to|=|:|as|is)\s+\w+/i.test(rest.slice(rest.search(/\bpriority\b/i)))
  ) {
    const word = /\bpriority\b.*?\b(?:to|=|:|as|is)\s+(\w+)/i.exec(rest)?.[1] ?? "";
    return {
      kind: "ask",
      intent: ask("update_ticket", `"${word}" is not a priority: should it be low, medium, high or urgent?`),
    };
  }

  const categoryWanted = /\bcategor(y|ies)\b|\b(?:re)?categori[sz]e\b|\bmake\b.*\ba\s+\w+/i.test(rest);
  const category = new RegExp(CATEGORY_PATTERN.source, "i").exec(rest)?.[1];
  if (categoryWanted && category) args.category = categoryOf(category);

  if (typeof args.title === "string" && args.title.length < 3) {
    return {
      kind: "ask",
      intent: ask("update_ticket", "What should the new title be (at least 3 characters)?"),
    };
  }
  return { kind: "update", args, rest };
}

function unquote(value: string): string {
  return tidy(value.replace(/^["“']|["”']$/g, "").replace(/[.!]+$/, "")).slice(0, 5_000);
}
