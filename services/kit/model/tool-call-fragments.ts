import type { ToolCall } from "./types.js";

/** A `delta.tool_calls[]` entry of a streamed chunk. */
export interface ToolCallFragment {
  index?: unknown;
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

interface PartialCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * The tool calls of a streamed answer, put together from their fragments: keyed by `index` (id and
 * name in the first, `arguments` as pieces of JSON text to concatenate), possibly interleaved.
 */
export class ToolCallFragments {
  private readonly calls = new Map<number, PartialCall>();

  add(fragments: readonly ToolCallFragment[]): void {
    for (const [position, fragment] of fragments.entries()) {
      // Some servers leave out `index` when they send whole calls; their position stands in.
      const index = typeof fragment.index === "number" ? fragment.index : position;
      const call = this.calls.get(index) ?? { id: "", name: "", arguments: "" };
      this.calls.set(index, call);
      if (typeof fragment.id === "string" && !call.id) call.id = fragment.id;
      if (typeof fragment.function?.name === "string" && !call.name) call.name = fragment.function.name;
      const args = fragment.function?.arguments;
      // Some servers send parsed objects instead of JSON text; normalise to text.
      if (typeof args === "string") call.arguments += args;
      else if (args !== undefined && args !== null) call.arguments += JSON.stringify(args);
    }
  }

  /** The whole calls in index order; `bad` makes the error for a call that never got a name. */
  complete(bad: (why: string) => Error): ToolCall[] {
    return [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([i, c]) => {
        if (!c.name) throw bad(`tool call ${i} without a function name`);
        return { id: c.id || `call_${i}`, name: c.name, arguments: c.arguments || "{}" };
      });
  }
}
