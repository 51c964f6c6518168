import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json.js";

/** `prev_hash` of the first row of the chain: there is nothing before it. */
export const GENESIS_HASH = "0".repeat(64);

/**
 * What a row's hash covers: every column of `audit_log` except `prev_hash` and `row_hash`, as read
 * back from the database (`at` a Date, jsonb parsed). A column added to the table later must be
 * added here too, or edits to it go unnoticed.
 */
export interface ChainedContent {
  readonly id: number;
  readonly seq: number;
  readonly at: Date;
  readonly user_id: string;
  readonly email: string | null;
  readonly actor_sub: string | null;
  readonly actor_agent: string | null;
  readonly actor_chain: unknown;
  readonly anonymous: boolean;
  readonly tool: string;
  readonly arguments: unknown;
  readonly outcome: string;
  readonly error_code: string | null;
  readonly error: string | null;
  readonly duration_ms: number;
  readonly trace_id: string | null;
  readonly request_id: string | null;
  readonly session_id: string | null;
  /** Who confirmed a destructive call, and when (migration 0008; NULL on every other row). */
  readonly confirmed_by?: string | null;
  readonly confirmed_at?: Date | null;
}

/**
 * Columns added after rows were already hashed: a NULL one is left out of the hashed content, so
 * every row written before it existed keeps its hash, and a value set (or removed) later still
 * changes the hash of the row it is in.
 */
export const OPTIONAL_CHAINED_COLUMNS = [
  "confirmed_by",
  "confirmed_at",
] as const satisfies readonly (keyof ChainedContent)[];

/** The columns that are always hashed. */
export const REQUIRED_CHAINED_COLUMNS = [
  "id",
  "seq",
  "at",
  "user_id",
  "email",
  "actor_sub",
  "actor_agent",
  "actor_chain",
  "anonymous",
  "tool",
  "arguments",
  "outcome",
  "error_code",
  "error",
  "duration_ms",
  "trace_id",
  "request_id",
  "session_id",
] as const satisfies readonly (keyof ChainedContent)[];

/** The columns of `ChainedContent`, for SELECT lists. */
export const CHAINED_COLUMNS = [...REQUIRED_CHAINED_COLUMNS, ...OPTIONAL_CHAINED_COLUMNS] as const;

/**
 * `row_hash` = SHA-256 (hex) of `prev_hash` ‖ the canonical JSON of the row's content. `prev_hash`
 * is fixed-length hex, so the concatenation is unambiguous; covering it links each row to the one
 * before, so removing, inserting or reordering rows breaks the links after them.
 */
export function chainHash(prevHash: string, row: ChainedContent): string {
  return createHash("sha256")
    .update(prevHash)
    .update(canonicalJson(hashedContent(row)))
    .digest("hex");
}

/** The columns a row's hash covers: every required one, an optional one only when set. */
function hashedContent(row: Omit<ChainedContent, "id" | "seq"> & Partial<ChainedContent>) {
  const content: Record<string, unknown> = {};
  for (const column of REQUIRED_CHAINED_COLUMNS) content[column] = row[column];
  for (const column of OPTIONAL_CHAINED_COLUMNS) {
    const value = row[column];
    if (value !== null && value !== undefined) content[column] = value;
  }
  return content;
}

/** The hashed text of a row around its `id` and `seq`: `prefix ‖ id ‖ middle ‖ seq ‖ suffix`. */
export interface TextAroundPosition {
  readonly prefix: string;
  readonly middle: string;
  readonly suffix: string;
}

/**
 * The text `chainHash` covers for `row`, cut where its `id` and `seq` go, for an append whose
 * database decides them under the head's lock (data/audit-log.ts): with both written in as decimal
 * integers, `prefix ‖ id ‖ middle ‖ seq ‖ suffix` is exactly the canonical JSON of the whole row.
 * The top level is assembled as `canonicalJson` assembles any object — keys sorted, each value in
 * canonical form — so nothing inside a value (an argument named `id`) can be taken for a cut.
 */
export function chainedTextAroundPosition(row: Omit<ChainedContent, "id" | "seq">): TextAroundPosition {
  const content = hashedContent({ ...row, id: 0, seq: 0 });
  const pieces: string[] = [];
  let text = "{";
  const keys = Object.keys(content)
    .filter((key) => content[key] !== undefined)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [i, key] of keys.entries()) {
    text += `${i > 0 ? "," : ""}${JSON.stringify(key)}:`;
    if (key === "id" || key === "seq") {
      pieces.push(text);
      text = "";
    } else {
      text += canonicalJson(content[key]);
    }
  }
  pieces.push(`${text}}`);
  const [prefix, middle, suffix] = pieces as [string, string, string];
  return { prefix, middle, suffix };
}
