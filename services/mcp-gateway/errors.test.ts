import { Code } from "@connectrpc/connect";
import { SdkErrorCode, SdkHttpError } from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import { exceedsNesting } from "#kit/input/index.js";
import { toConnectError } from "./errors.js";
import { TokenExchangeError } from "./token/token-exchange-client.js";

const JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJl";
// What the SDK v2 client's streamable HTTP transport throws for a non-2xx answer.
const httpError = (status: number, message: string) =>
  new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, message, { status });
const rpcBody = (message: string) =>
  JSON.stringify({ jsonrpc: "2.0", error: { code: -32600, message }, id: null });

describe("toConnectError: the MCP server's words, never the SDK's raw text", () => {
  const cases: [string, unknown, Code, string][] = [
    [
      "a JSON-RPC error in a 400",
      httpError(
        400,
        `Error POSTing to endpoint: ${rpcBody("Bad Request: Mcp-Session-Id header is required")}`,
      ),
      Code.InvalidArgument,
      "MCP server rejected the request: Bad Request: Mcp-Session-Id header is required",
    ],
    [
      "an OAuth error in a 401",
      httpError(
        401,
        `Error POSTing to endpoint: {"error":"invalid_token","error_description":"expired: the token has expired","reason":"expired"}`,
      ),
      Code.Unauthenticated,
      "MCP server refused the credential: expired: the token has expired",
    ],
    [
      "an HTML page from a proxy in a 502",
      httpError(502, "Error POSTing to endpoint: <html><body>Bad gateway</body></html>"),
      Code.Unavailable,
      "MCP server error (HTTP 502): no readable reason given",
    ],
    [
      "the SDK v2 wording with the status in the text",
      new Error(
        `Error POSTing to endpoint (HTTP 403): ${rpcBody("Forbidden: session belongs to another principal")}`,
      ),
      Code.PermissionDenied,
      "MCP server refused the call: Forbidden: session belongs to another principal",
    ],
    [
      "a body carrying a credential",
      httpError(500, `Error POSTing to endpoint: ${rpcBody(`upstream refused Bearer ${JWT}`)}`),
      Code.Unavailable,
      "MCP server error (HTTP 500): upstream refused Bearer [REDACTED]",
    ],
    [
      "a refused exchange, worded with token as a word",
      new TokenExchangeError("invalid_grant", 400, "subject_token: login session has been revoked"),
      Code.Unauthenticated,
      "token exchange failed: invalid_grant: subject_token: login session has been revoked",
    ],
  ];
  for (const [what, err, code, message] of cases) {
    it(what, () => {
      const ce = toConnectError(err);
      expect(ce.code).toBe(code);
      expect(ce.rawMessage).toBe(message);
      expect(ce.rawMessage).not.toMatch(/POSTing|jsonrpc|Streamable HTTP error|eyJ/);
    });
  }
});

describe("exceedsNesting", () => {
  it("counts brackets outside strings only", () => {
    expect(exceedsNesting(`{"a":${'{"b":'.repeat(63)}1${"}".repeat(63)}}`, 64)).toBe(false);
    expect(exceedsNesting(`{"a":${'{"b":'.repeat(64)}1${"}".repeat(64)}}`, 64)).toBe(true);
    expect(exceedsNesting(`[${"[".repeat(100)}`, 64)).toBe(true);
    expect(exceedsNesting(JSON.stringify({ text: "{".repeat(1000), quote: '\\"[[[[' }), 2)).toBe(false);
  });
});
