import { describe, expect, it } from "vitest";
import { parseDatabaseUrl, removeKnownSecrets } from "./redact.js";

describe("parseDatabaseUrl", () => {
  it("masks the password and drops the query string", () => {
    const { redacted, secrets } = parseDatabaseUrl(
      "postgres://app:p%40ss@db:5432/support?sslmode=require&password=x",
    );
    expect(redacted).toBe("postgres://app:***@db:5432/support");
    expect(secrets).toEqual(["p%40ss", "p@ss"]);
  });
  it("accepts URLs without a password", () => {
    expect(parseDatabaseUrl("postgresql://postgres@127.0.0.1/test")).toEqual({
      redacted: "postgresql://postgres@127.0.0.1/test",
      secrets: [],
    });
  });
  it("rejects other schemes and garbage without echoing the input", () => {
    expect(() => parseDatabaseUrl("mysql://u:hunter2@h/db")).toThrow(/postgres:\/\//);
    for (const bad of ["::hunter2::", "postgres://u:hunter2@[::1/db", "hunter2://x"]) {
      let message = "";
      try {
        parseDatabaseUrl(bad);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/DATABASE_URL/);
      expect(message).not.toContain("hunter2");
    }
  });
});

describe("removeKnownSecrets", () => {
  it("replaces every occurrence", () => {
    expect(removeKnownSecrets("a hunter2 b hunter2", ["hunter2"])).toBe("a *** b ***");
    expect(removeKnownSecrets("unchanged", [""])).toBe("unchanged");
  });
});
