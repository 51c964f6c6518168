import { scrubSecrets } from "#kit/log/index.js";

const MAX_TEXT = 300;
/** The MCP SDK's wording around an HTTP error body (v1 and v2 clients). */
const SDK_PREFIX = /^(?:Streamable HTTP error: )?(?:Error POSTing to endpoint(?: \(HTTP \d{3}\))?: ?)?/;
/** An HTTP status the SDK v2 client writes into its message. */
const SDK_STATUS = /Error POSTing to endpoint \(HTTP (\d{3})\)/;

/** True when `message` is the SDK's raw transport text about an HTTP answer. */
export function isSdkTransportText(message: string): boolean {
  return /Error POSTing to endpoint|^Streamable HTTP error: /.test(message);
}

/** The HTTP status named in the SDK's raw text, when there is one. */
export function sdkStatusOf(message: string): number | undefined {
  const m = SDK_STATUS.exec(message);
  return m ? Number(m[1]) : undefined;
}

/**
 * What the MCP server said, in words a person (and the model) can read: the JSON-RPC error's
 * message, or an OAuth error's description, out of the body the SDK pastes into its messages
 * ("Error POSTing to endpoint: {"jsonrpc":…}"). Never the raw envelope, markup or a credential
 * (docs/mcp-gateway.md, "Faults").
 */
export function readableUpstreamText(message: string): string {
  const body = message.replace(SDK_PREFIX, "").trim();
  return scrubSecrets(fromJson(body) ?? fromText(body)).slice(0, MAX_TEXT);
}

function fromJson(body: string): string | undefined {
  if (!body.startsWith("{")) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return "no readable reason given";
  }
  const o = value as { error?: unknown; error_description?: unknown; message?: unknown };
  if (o.error && typeof o.error === "object") {
    const inner = (o.error as { message?: unknown }).message;
    if (typeof inner === "string" && inner.trim()) return oneLine(inner);
  }
  if (typeof o.error_description === "string" && o.error_description.trim())
    return oneLine(o.error_description);
  if (typeof o.message === "string" && o.message.trim()) return oneLine(o.message);
  if (typeof o.error === "string" && o.error.trim()) return oneLine(o.error);
  return "no readable reason given";
}

function fromText(body: string): string {
  if (body === "" || body.startsWith("<")) return "no readable reason given";
  return oneLine(body);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
