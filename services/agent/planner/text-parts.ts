/** Small, pure text helpers the intent parsers share. */

const TICKET_NUMBER = [
  /\btickets?\s*(?:number|no\.?|nr\.?|id)?\s*#?\s*(\d{1,15})\b/i,
  /#\s?(\d{1,15})\b/,
  /\b(?:close|reopen|resolve|delete|remove|assign|unassign|show|get|view|open|update|edit|mark|rename)\s+(\d{1,15})\b/i,
];

/** The ticket number a sentence talks about ("ticket 12", "#12", "close 12"), if any. */
export function ticketNumber(text: string): number | undefined {
  for (const pattern of TICKET_NUMBER) {
    const match = pattern.exec(text);
    const n = match?.[1] ? Number(match[1]) : Number.NaN;
    if (Number.isSafeInteger(n) && n > 0) return n;
  }
  return undefined;
}

/** What follows the first colon ("create a ticket: printer on fire" → "printer on fire"). */
export function afterColon(text: string): string | undefined {
  const i = text.indexOf(":");
  if (i < 0) return undefined;
  const rest = text.slice(i + 1).trim();
  return rest || undefined;
}

/** Trims spaces, quotes and dangling punctuation left behind after removing phrases. */
export function tidy(text: string): string {
  return text
    .replace(/\s*,\s*(,\s*)+/g, ", ")
    .replace(/\s{2,}/g, " ")
    .replace(/^[\s,;:.\-–—"'“”]+|[\s,;:\-–—"'“”]+$/g, "")
    .replace(/\s+(with|and|at|as)$/i, "")
    .trim();
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The first sentence, cut on a word boundary to at most `max` characters. */
export function firstSentence(text: string, max: number): string {
  const sentence = (text.split(/(?<=[.!?])\s+|\n/)[0] ?? text).replace(/[.!?]+$/, "").trim();
  if (sentence.length <= max) return sentence;
  const cut = sentence.slice(0, max);
  const space = cut.lastIndexOf(" ");
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trim()}…`;
}
