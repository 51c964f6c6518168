import { describe, expect, it } from "vitest";
import { loadCorpus, runEntry } from "./corpus/corpus.js";
import { exactlyRight, foreignWords, writesFromRead } from "./corpus/score.js";

/**
 * The planner against its corpus (corpus/requests.jsonl, docs/agent.md "The corpus"): at least 95%
 * exactly right, no write for a read, no argument carrying another step's words. The score by tool
 * and by kind of request is printed.
 */
describe("planner corpus", () => {
  const corpus = loadCorpus();
  const runs = corpus.map((entry) => ({ entry, run: runEntry(entry) }));

  it("has at least 400 requests covering every tool", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(400);
    const tools = new Set(corpus.flatMap((e) => e.expect.map(([tool]) => tool)));
    expect(tools.size).toBe(13);
  });

  it("is at least 95% exactly right", () => {
    const wrong = runs.filter(({ entry, run }) => !exactlyRight(entry, run));
    const score = (corpus.length - wrong.length) / corpus.length;
    const table = (key: (e: (typeof corpus)[number]) => string[]) => {
      const rows = new Map<string, { ok: number; all: number }>();
      for (const { entry, run } of runs) {
        for (const k of key(entry)) {
          const row = rows.get(k) ?? { ok: 0, all: 0 };
          row.all++;
          if (exactlyRight(entry, run)) row.ok++;
          rows.set(k, row);
        }
      }
      return [...rows].map(([k, r]) => `  ${k.padEnd(24)} ${r.ok}/${r.all}`).join("\n");
    };
    const toolsOf = (e: (typeof corpus)[number]) =>
      e.expect.length === 0 ? [e.ask ? "(question)" : "(tool list)"] : [...new Set(e.expect.map(([t]) => t))];
    console.log(
      `planner corpus: ${corpus.length - wrong.length}/${corpus.length} exactly right (${(score * 100).toFixed(1)}%)\n` +
        `by file:\n${table((e) => [e.set])}\nby tool:\n${table(toolsOf)}\nby kind:\n${table((e) => [e.kind])}\n` +
        (wrong.length > 0
          ? `not exactly right:\n${wrong.map(({ entry, run }) => `  ${JSON.stringify(entry.text)} → ${JSON.stringify(run.calls)}${run.calls.length === 0 || entry.says || entry.once ? ` "${run.answer.slice(0, 160)}"` : ""}`).join("\n")}`
          : ""),
    );
    expect(score).toBeGreaterThanOrEqual(0.95);
    const first = runs.filter(({ entry }) => entry.set === "requests");
    const firstRight = first.filter(({ entry, run }) => exactlyRight(entry, run)).length;
    expect(firstRight / first.length).toBeGreaterThanOrEqual(0.95);
  });

  it("never writes when the request only reads", () => {
    const writes = runs.filter(({ entry, run }) => writesFromRead(entry, run));
    console.log(`planner corpus: ${writes.length} write(s) from read requests`);
    expect(writes.map(({ entry, run }) => [entry.text, run.calls])).toEqual([]);
  });

  it("never carries words of another step into an argument", () => {
    const polluted = runs.flatMap(({ entry, run }) =>
      foreignWords(entry, run).map((w) => `${entry.text} → ${w}`),
    );
    console.log(`planner corpus: ${polluted.length} argument(s) with words of another step`);
    expect(polluted).toEqual([]);
  });
});
