/**
 * How a tool's result is handed back to the model: one JSON object per tool message, so a general
 * model reads it as easily as the embedded planner parses it. Success carries the tool's text and
 * structured data; a failure carries the Connect code name and the message (the loop goes on).
 */
export type ToolResultContent =
  | { readonly ok: true; readonly text: string; readonly data?: unknown }
  | { readonly ok: false; readonly error_code: string; readonly error: string };

/** Bounds what one tool result costs in the model's context. */
const MAX_TEXT_CHARS = 4_000;
const MAX_DATA_CHARS = 12_000;

export function encodeToolResult(result: ToolResultContent): string {
  if (!result.ok)
    return JSON.stringify({
      ok: false,
      error_code: result.error_code,
      error: result.error.slice(0, MAX_TEXT_CHARS),
    });
  const data = result.data === undefined ? "" : JSON.stringify(result.data);
  return JSON.stringify({
    ok: true,
    text: result.text.slice(0, MAX_TEXT_CHARS),
    ...(data && data.length <= MAX_DATA_CHARS ? { data: result.data } : {}),
  });
}

/** The parsed result, or undefined when `content` is not one of ours (e.g. a history message). */
export function decodeToolResult(content: string): ToolResultContent | undefined {
  try {
    const value = JSON.parse(content) as Record<string, unknown>;
    if (value?.ok === true && typeof value.text === "string")
      return { ok: true, text: value.text, data: value.data };
    if (value?.ok === false && typeof value.error_code === "string" && typeof value.error === "string") {
      return { ok: false, error_code: value.error_code, error: value.error };
    }
  } catch {
    // not JSON: not a result this service encoded
  }
  return undefined;
}
