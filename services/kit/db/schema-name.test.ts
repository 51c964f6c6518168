import { describe, expect, it } from "vitest";
import { toSchemaName } from "./schema-name.js";

describe("toSchemaName", () => {
  it("lowercases and replaces anything outside [a-z0-9_]", () => {
    expect(toSchemaName("mcp-server")).toBe("mcp_server");
    expect(toSchemaName("Chat")).toBe("chat");
    expect(toSchemaName('a"; DROP SCHEMA x; --')).toBe("a___drop_schema_x____");
  });
  it("keeps names valid identifiers", () => {
    expect(toSchemaName("1st")).toBe("s_1st");
    expect(toSchemaName("x".repeat(100))).toHaveLength(63);
    expect(() => toSchemaName("---")).toThrow(/cannot derive/);
    expect(() => toSchemaName("pg_catalog")).toThrow(/reserved/);
  });
});
