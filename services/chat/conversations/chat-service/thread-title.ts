import { Code, ConnectError } from "@connectrpc/connect";

/** The longest title a caller may send, in characters (code points); the first 80 are kept. */
export const TITLE_MAX = 200;

/** Line breaks and tabs: a title is one line in every list that shows it. */
const NOT_ONE_LINE = /[\t\n\r\u2028\u2029]/u;
/** Bidirectional overrides and isolates: they make a title read as another in the list. */
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/u;
/** What a person can see: a letter, digit, punctuation or symbol. */
const VISIBLE = /[\p{L}\p{N}\p{P}\p{S}]/u;

/**
 * A thread's title as sent to CreateThread or UpdateThread, trimmed; `invalid_argument` for one
 * longer than TITLE_MAX characters, over several lines, with a bidirectional control, or (when
 * `required`, or given at all) with nothing visible in it. Empty is allowed where not `required`
 * (a new thread then takes its first message's first line). Other control characters are refused
 * for every string field before this (docs/architecture.md, "Input text").
 */
export function threadTitle(raw: string, options: { readonly required: boolean }): string {
  const title = raw.trim();
  if (!title) {
    if (options.required) throw invalid("title: required (not blank)");
    return "";
  }
  if ([...title].length > TITLE_MAX) throw invalid(`title: at most ${TITLE_MAX} characters`);
  if (NOT_ONE_LINE.test(title)) throw invalid("title: one line, without tabs");
  if (BIDI_CONTROL.test(title)) throw invalid("title: no bidirectional control characters");
  if (!VISIBLE.test(title)) throw invalid("title: nothing visible in it");
  return title;
}

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}
