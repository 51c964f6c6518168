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
/** The priority words, as a regex alternation to build patterns from. */
export const PRIORITY_ALTERNATIVES = "low|medium|normal|high|urgent|critical";
export const PRIORITY_PATTERN = new RegExp(`\\b(${PRIORITY_ALTERNATIVES})\\b`, "i");

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
/** The category words, as a regex alternation to build patterns from. */
export const CATEGORY_ALTERNATIVES =
  "general|technical|tech|bugs?|accounts?|billing|hardware|network(?:ing)?|feature[\\s_-]requests?";
export const CATEGORY_PATTERN = new RegExp(`\\b(${CATEGORY_ALTERNATIVES})\\b`, "i");

/** Status words as they describe tickets, in the tools' own order. */
export const STATUS_ORDER = ["open", "in_progress", "waiting", "resolved", "closed"] as const;
export const STATUS_PHRASES: readonly (readonly [RegExp, string])[] = [
  [/\bopen\b/i, "open"],
  [/\bin[\s_-]?progress\b/i, "in_progress"],
  [/\b(waiting|on hold|pending)\b/i, "waiting"],
  [/\b(resolved|solved|fixed)\b/i, "resolved"],
  [/\bclosed\b/i, "closed"],
];

export function priorityOf(word: string): string | undefined {
  return PRIORITY_WORDS[word.toLowerCase()];
}

export function categoryOf(word: string): string | undefined {
  const key = word
    .toLowerCase()
    .replace(/[\s_-]+/g, " ")
    .trim();
  return CATEGORY_WORDS[key] ?? CATEGORY_WORDS[key.replace(/ /g, "_")];
}

/** Statuses, priorities and categories named anywhere in `text`, for list and search filters. */
export function ticketFilters(text: string): Record<string, unknown> {
  const filters: Record<string, unknown> = {};
  const statuses = STATUS_PHRASES.filter(([pattern]) => pattern.test(text)).map(([, s]) => s);
  if (statuses.length > 0) filters.status = STATUS_ORDER.filter((s) => statuses.includes(s));
  const priorities = [
    ...new Set([...text.matchAll(new RegExp(PRIORITY_PATTERN, "gi"))].map((m) => priorityOf(m[1] ?? ""))),
  ];
  const ordered = ["low", "medium", "high", "urgent"].filter((p) => priorities.includes(p));
  if (ordered.length > 0) filters.priority = ordered;
  const categories = [
    ...new Set([...text.matchAll(new RegExp(CATEGORY_PATTERN, "gi"))].map((m) => categoryOf(m[1] ?? ""))),
  ].filter((c): c is string => c !== undefined);
  if (categories.length > 0) filters.category = categories;
  return filters;
}
