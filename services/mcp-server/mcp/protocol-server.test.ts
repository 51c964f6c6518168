import { createRequestStateCodec } from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";
import { captureLogs } from "#kit/testing/log-capture.js";
import { ALL_TOOLS } from "../tools/all-tools.js";
import { createProtocolServer } from "./protocol-server.js";
import { createToolCatalog } from "./tool-catalog.js";

describe("createProtocolServer", () => {
  it("logs errors the SDK reports out of band as scrubbed warnings", () => {
    const logs = captureLogs("mcp-server");
    const server = createProtocolServer({
      catalog: createToolCatalog(ALL_TOOLS),
      runTool: async () => ({ content: [] }),
      version: "0.0.0",
      logger: logs.logger,
      confirmations: createRequestStateCodec({ key: "k".repeat(32) }),
    });
    const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    server.onerror?.(new Error(`Failed to send response: authorization Bearer ${jwt}`));
    const [line] = logs.records();
    expect(line).toMatchObject({ level: "warn", msg: "MCP protocol error" });
    expect(line?.err).toMatchObject({ message: expect.stringMatching(/^Failed to send response/) });
    expect(logs.lines.join("\n")).not.toContain(jwt);
  });
});
