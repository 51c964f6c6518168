/**
 * The words people use for the ticket vocabulary, mapped to the MCP tools' enum values
 * (services/mcp-server/domain/ticket.ts). The planner only ever sends values from these lists.
 */

export const PRIORITY_WORDS: Readonly<Record<string, string>> = {
  low: "low",
  medium: "medium",
  normal: "medium",
  high: "high",
  urgent: "urgent",
  critical: "urgent",
};

export const CATEGORY_WORDS: Readonly<Record<string, string>> = {
  general: "general",
  technical: "technical",
  tech: "technical",
  bug: "bug",
  bugs: "bug",
  account: "account",
  accounts: "account",
  billing: "billing",
  hardware: "hardware",
  network: "network",
  networking: "network",
  "feature request": "feature_request",
  "feature requests": "feature_request",
  feature_request: "feature_request",
};

/** Status phrases, most specific first ("in progress" before "progress"). */
export const STATUS_PHRASES: readonly (readonly [RegExp, string])[] = [
  [/\bin[\s_-]?progress\b/i, "in_progress"],
  [/\b(waiting|on hold|pending)\b/i, "waiting"],
  [/\b(resolved|solved|fixed)\b/i, "resolved"],
  [/\bclosed\b/i, "closed"],
  [/\bopen\b/i, "open"],
];

export function priorityOf(word: string): string | undefined {
  return PRIORITY_WORDS[word.toLowerCase()];
}

export function categoryOf(word: string): string | undefined {
  return (
    CATEGORY_WORDS[
      word
        .toLowerCase()
        .replace(/[\s-]+/g, " ")
        .trim()
    ] ?? CATEGORY_WORDS[word.toLowerCase()]
  );
}
