import { isDeepStrictEqual } from "node:util";
import { TOOL_SCOPES, type ToolName } from "#kit/contract/index.js";
import type { CorpusEntry, CorpusRun } from "./corpus.js";

/** Whether a tool only reads (its scope ends in ":read"). */
export const isRead = (tool: string) => TOOL_SCOPES[tool as ToolName]?.endsWith(":read") ?? false;

/**
 * Exactly right: the same calls, in order, with the same arguments, or a question and no call; and
 * an answer that names what it must (`says`) and says each thing once (`once`).
 */
export function exactlyRight(entry: CorpusEntry, run: CorpusRun): boolean {
  return callsRight(entry, run) && answerRight(entry, run);
}

function answerRight(entry: CorpusEntry, run: CorpusRun): boolean {
  const answer = run.answer.toLowerCase();
  const count = (word: string) => answer.split(word.toLowerCase()).length - 1;
  return (entry.says ?? []).every((w) => count(w) >= 1) && (entry.once ?? []).every((w) => count(w) === 1);
}

function callsRight(entry: CorpusEntry, run: CorpusRun): boolean {
  if (entry.ask) return run.calls.length === 0 && run.answer.includes("?");
  if (run.calls.length !== entry.expect.length) return false;
  return entry.expect.every(([tool, args], i) => {
    const actual = run.calls[i];
    return actual?.name === tool && isDeepStrictEqual(actual.args, resolve(args, run));
  });
}

/** A request that only reads (or asks nothing of the tools) but led to a write. */
export function writesFromRead(entry: CorpusEntry, run: CorpusRun): boolean {
  return entry.expect.every(([tool]) => isRead(tool)) && run.calls.some((c) => !isRead(c.name));
}

/** Words that only ever belong to a step of their own ("…, then mark it in progress"). */
const STEP_WORDS = new Set([
  "then",
  "assign",
  "give",
  "mark",
  "close",
  "resolve",
  "reopen",
  "delete",
  "priority",
  "status",
  "it",
]);

/**
 * Arguments carrying words of another step: a word in a call's text argument that its own expected
 * argument lacks, and that another expected step has or that only ever starts a step.
 */
export function foreignWords(entry: CorpusEntry, run: CorpusRun): string[] {
  const found: string[] = [];
  for (const [i, call] of run.calls.entries()) {
    const own = new Set(words(entry.expect[i]?.[1] ?? {}));
    const others = new Set(entry.expect.filter((_, j) => j !== i).flatMap(([, args]) => words(args)));
    for (const word of words(call.args)) {
      if (!own.has(word) && (others.has(word) || STEP_WORDS.has(word))) found.push(`${call.name}: ${word}`);
    }
  }
  return found;
}

function words(args: Record<string, unknown>): string[] {
  return Object.values(args)
    .filter((v): v is string => typeof v === "string")
    .flatMap((v) => v.toLowerCase().split(/[^a-z0-9@.']+/))
    .filter((w) => w.length > 1);
}

function resolve(args: Record<string, unknown>, run: CorpusRun): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(args).map(([k, v]) => {
      const ref = typeof v === "string" ? /^\$(\d+)$/.exec(v) : null;
      return [k, ref ? run.tickets[Number(ref[1]) - 1] : v];
    }),
  );
}
