import type { CallToolResult } from "@modelcontextprotocol/server";
import type { ToolErrorCode } from "../tools/tool.js";

const MAX_ISSUES_TEXT = 1_000;

/**
 * Formats a zod failure as "field: problem; field: problem", capped: zod quotes unknown keys, and
 * a request may send a megabyte of them.
 */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const text = issues
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join(".")}: ${i.message}` : i.message))
    .join("; ");
  return text.length > MAX_ISSUES_TEXT ? `${text.slice(0, MAX_ISSUES_TEXT)}…` : text;
}

/** A tool name as it may appear in log lines: the caller chose it, so it is bounded. */
export function nameForLog(name: string): string {
  return name.length > 100 ? `${name.slice(0, 100)}…` : name;
}

export function toolError(code: ToolErrorCode, message: string): CallToolResult {
  return { isError: true, content: [{ type: "text", text: `${code}: ${message}` }] };
}

export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
