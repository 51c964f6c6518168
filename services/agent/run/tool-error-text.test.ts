import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { toolErrorText } from "./tool-error-text.js";

describe("toolErrorText: what the model and the user read of a failed tool call", () => {
  it("replaces raw transport text with a plain sentence for its code", () => {
    const cases: [string, Code, string][] = [
      [
        'MCP server error (HTTP 500): Error POSTing to endpoint: {"jsonrpc":"2.0","error":{"code":-32603,"message":"x"},"id":null}',
        Code.Unavailable,
        "the tool service is unavailable",
      ],
      ["read ECONNRESET", Code.Aborted, "the connection to the tool service was lost"],
      ["http/2 stream closed with error code INTERNAL_ERROR (0x2)", Code.Internal, "the tool service failed"],
      ["", Code.DeadlineExceeded, "the tool call timed out"],
    ];
    for (const [raw, code, plain] of cases) expect(toolErrorText(new ConnectError(raw, code))).toBe(plain);
  });

  it("keeps the gateway's own clean words, scrubbed of credentials but not of words", () => {
    const words = "insufficient_scope: no bearer token with tickets:write was presented";
    expect(toolErrorText(new ConnectError(words, Code.PermissionDenied))).toBe(words);
    const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJl";
    expect(toolErrorText(new ConnectError(`refused ${jwt}`, Code.Unauthenticated))).toBe(
      "refused [REDACTED]",
    );
  });

  it("says the code once: a message starting with the same code name loses it, another reason stays", () => {
    const missing = new ConnectError("not_found: ticket 3 does not exist (or was deleted)", Code.NotFound);
    expect(toolErrorText(missing)).toBe("ticket 3 does not exist (or was deleted)");
    const bad = new ConnectError("invalid_arguments: title: too short", Code.InvalidArgument);
    expect(toolErrorText(bad)).toBe("title: too short");
    const scope = new ConnectError("insufficient_scope: tickets:delete is required", Code.PermissionDenied);
    expect(toolErrorText(scope)).toBe("insufficient_scope: tickets:delete is required");
  });
});
