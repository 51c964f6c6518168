import type { ToolName } from "../../kit/auth/scopes.js";

/** What the planner understood one request to be. */
export type Intent =
  /** Call `tool` with `args` (valid for the tool's input schema). */
  | { readonly kind: "tool"; readonly tool: ToolName; readonly args: Readonly<Record<string, unknown>> }
  /** "What tools can you call?" — answered from the tool definitions, no call. */
  | { readonly kind: "list_tools" }
  /** Understood, but a detail is missing: ask for it (names the tool it would use). */
  | { readonly kind: "clarify"; readonly tool: ToolName; readonly question: string };

export const call = (tool: ToolName, args: Record<string, unknown> = {}): Intent => ({
  kind: "tool",
  tool,
  args,
});
export const clarify = (tool: ToolName, question: string): Intent => ({ kind: "clarify", tool, question });
