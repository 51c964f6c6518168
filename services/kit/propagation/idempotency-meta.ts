/**
 * The `_meta` key of an MCP `tools/call` that names the call for exactly-once writes
 * (docs/mcp-server.md, "Idempotency keys"): the gateway sets it from `CallToolRequest.idempotency_key`,
 * the MCP server answers a repeat of it with the first call's result. Namespaced, as the MCP spec
 * asks of `_meta` keys that are not its own.
 */
export const IDEMPOTENCY_META_KEY = "io.support-ext/idempotency-key";

/** Longest key accepted: the agent's "<turn id>:<tool call id>" fits with room to spare. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;

/** Whether `key` may be used as an idempotency key: 1–200 printable characters. */
export function isValidIdempotencyKey(key: unknown): key is string {
  return (
    typeof key === "string" &&
    key.length > 0 &&
    key.length <= MAX_IDEMPOTENCY_KEY_LENGTH &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    !/[\u0000-\u001f\u007f]/.test(key)
  );
}
