/**
 * Several requests in one message ("show ticket 3 and close ticket 4", "create a ticket: …, then
 * assign it to me") become clauses, in the order they were typed. A clause starts at ";", at
 * "then", or at "and"/"," followed by a request's first word. Quoted text is never split.
 */

/** Words that start a request of their own. */
const STARTERS =
  "show|get|view|pull|display|fetch|close|reopen|resolve|delete|remove|trash|assign|unassign|reassign|give|hand|list|search|find|look|create|update|change|mark|set|move|file|tell|make|put|bump|check|rename|escalate|lower|downgrade|raise|triage|the stats|stats|ticket stats|integration|integrations|system health|health";

const BOUNDARY = new RegExp(
  `\\s*;\\s*|,?\\s+(?:and\\s+)?then\\s+|(?:,\\s*(?:and\\s+)?(?:also\\s+)?|\\s+and\\s+(?:also\\s+)?)(?=(?:${STARTERS})\\b)`,
  "gi",
);

/** The clauses of a message (at least one when the message is not blank). */
export function splitClauses(message: string): string[] {
  const clauses: string[] = [];
  let current = "";
  for (const [i, part] of message.split(/("[^"]*"|“[^”]*”)/).entries()) {
    if (i % 2 === 1) {
      current += part;
      continue;
    }
    const pieces = part.split(BOUNDARY);
    current += pieces[0] ?? "";
    for (const piece of pieces.slice(1)) {
      clauses.push(current);
      current = piece;
    }
  }
  clauses.push(current);
  return clauses.map((c) => c.trim().replace(/^[,.;\s]+|[,;\s]+$/g, "")).filter((c) => c !== "");
}
