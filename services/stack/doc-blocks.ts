import { readFileSync } from "node:fs";

/**
 * The fenced blocks of a Markdown document and the marker before each: `<!-- run-by-test: NAME -->`
 * (a test runs the block as written) or `<!-- covered-by: PATH -->` (the test at PATH does what it
 * says). services/stack/readme-first-hour.test.ts holds every shell block to one of the two, so a
 * command in the README cannot drift from the code unnoticed; services/stack/adding-a-tool.test.ts
 * applies the code blocks of docs/adding-a-tool.md to a copy of the repository.
 */
export interface DocBlock {
  /** `run-by-test` or `covered-by`, or undefined when the block has no marker. */
  readonly marker: { readonly kind: "run-by-test" | "covered-by"; readonly value: string } | undefined;
  /** The block's lines, with the list indentation of the fence removed. */
  readonly text: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
}

/** A block of any language: `sh`, `ts`, … ("" when the fence names none). */
export interface CodeBlock extends DocBlock {
  readonly language: string;
  /** The rest of the opening fence after the language: docs/adding-a-tool.md names a block's file there. */
  readonly info: string;
}

const FENCE = /^(\s*)```(\S*)[ \t]*(.*?)\s*$/;
const MARKER = /^\s*<!-- (run-by-test|covered-by): (\S+) -->\s*$/;

export function codeBlocks(path: string): CodeBlock[] {
  const lines = readFileSync(path, "utf8").split("\n");
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? "");
    if (!open) continue;
    const indent = open[1]?.length ?? 0;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j] ?? ""); j++)
      body.push((lines[j] ?? "").slice(indent));
    const m = MARKER.exec(lines[i - 1] ?? "");
    blocks.push({
      marker: m ? { kind: m[1] as "run-by-test" | "covered-by", value: m[2] ?? "" } : undefined,
      text: body.join("\n"),
      line: i + 1,
      language: open[2] ?? "",
      info: open[3] ?? "",
    });
    i = j;
  }
  return blocks;
}

export function shellBlocks(path: string): DocBlock[] {
  return codeBlocks(path).filter((b) => b.language === "sh");
}

/** The block marked `run-by-test: name` in `path`; throws if there is none or more than one. */
export function blockToRun(path: string, name: string): string {
  const found = shellBlocks(path).filter((b) => b.marker?.kind === "run-by-test" && b.marker.value === name);
  if (found.length !== 1)
    throw new Error(`${path}: expected one block marked run-by-test: ${name}, found ${found.length}`);
  return found[0]?.text ?? "";
}

/** Every JSON object printed one after another (as `buf curl` prints a stream), parsed. */
export function concatenatedJson(output: string): Record<string, unknown>[] {
  const objects: Record<string, unknown>[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < output.length; i++) {
    const c = output[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") {
      if (depth++ === 0) start = i;
    } else if (c === "}" && --depth === 0) {
      objects.push(JSON.parse(output.slice(start, i + 1)) as Record<string, unknown>);
    }
  }
  return objects;
}
