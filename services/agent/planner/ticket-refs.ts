/**
 * Which tickets a clause talks about: numbers ("ticket 12", "#12", "close 3, 4 and 5"), a pronoun
 * ("it", "that one", "both") for a ticket named earlier, or nothing.
 */

/** Numbers that are not ticket numbers: dates, emails, floors, counts, "duplicate of 54", … */
const NOT_TICKET_NUMBERS: readonly RegExp[] = [
  /"[^"]*"|“[^”]*”/g,
  /\S+@\S+/g,
  /\b\d{4}-\d{2}-\d{2}(?:t[\d:.]+z?)?\b/gi,
  /\b(?:dupe|dup|duplicate|duplicates|copy|same as)\s+(?:of\s+)?(?:ticket\s+)?#?\s*\d+/gi,
  /\b(?:floor|room|desk|order|level|version|v|building|office|line|page|step|port|since|last|latest|newest|top|first)\s+#?\d+|\bthe\s+\d+/gi,
  /\b\d+\s*(?:minutes?|mins?|hours?|hrs?|days?|weeks?|rows?|am|pm|ms|gb|mb|%|users?|people|times|x)\b/gi,
  /\b\d+(?:st|nd|rd|th)\b/gi,
  /\b[a-z]+\d+[a-z\d]*\b|\b\d+[a-z]+\b/gi,
  /\b\d+[./:]\d+\b/g,
];

/** The ticket numbers of a clause, in order, without repeats. */
export function ticketNumbers(text: string): number[] {
  const cleaned = NOT_TICKET_NUMBERS.reduce((t, pattern) => t.replace(pattern, " "), text);
  const numbers: number[] = [];
  for (const match of cleaned.matchAll(/(?:^|[^\w/])#?\s?(\d{1,9})\b(?![\w/])/g)) {
    const n = Number(match[1]);
    if (Number.isSafeInteger(n) && n > 0 && !numbers.includes(n)) numbers.push(n);
  }
  return numbers;
}

/** "it", "that one", "its": one ticket named before. */
const SINGULAR =
  /\b(?:it|its)\b(?!'s|’s)|\bthat(?=\s*(?:$|[,.!?]|one\b|ticket\b|please\b|to\b|again\b|pls\b))/i;
/** "both", "them", "those", "all of them": the tickets named before. */
const PLURAL = /\b(?:both|them|those|all of them|these)\b/i;

export type Pronoun = "singular" | "plural" | undefined;

export function pronounOf(text: string): Pronoun {
  const cleaned = text.replace(/"[^"]*"|“[^”]*”/g, " ");
  if (PLURAL.test(cleaned)) return "plural";
  if (SINGULAR.test(cleaned)) return "singular";
  return undefined;
}
