import { describe, expect, it } from "vitest";
import { auditArguments, MAX_AUDIT_ARGUMENTS_BYTES, storableText } from "./redact-arguments.js";

describe("auditArguments", () => {
  it("keeps ordinary arguments as they are", () => {
    const args = {
      ticket_id: 12,
      title: "Printer on fire",
      status: ["open", "waiting"],
      enabled: true,
      assignee: null,
    };
    expect(auditArguments(args)).toEqual(args);
  });

  it("keeps a key named __proto__ as the caller sent it (JSON.parse makes it an own key), never as a prototype", () => {
    const args = JSON.parse('{"__proto__":{"a":1},"ticket_id":2,"nested":{"__proto__":"x"}}');
    const kept = auditArguments(args);
    expect(JSON.stringify(kept)).toBe('{"__proto__":{"a":1},"ticket_id":2,"nested":{"__proto__":"x"}}');
    expect(Object.getPrototypeOf(kept)).toBe(Object.prototype);
  });

  it("redacts secret-named keys at any depth and secret-shaped values anywhere", () => {
    const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJlLXBhcnQ";
    const out = auditArguments({
      password: "hunter2",
      nested: { client_secret: "abc", Authorization: "Bearer xyz", note: `here is ${jwt}` },
      list: [{ apiKey: "k" }, "Bearer sometoken123"],
      accessToken: "t",
    });
    expect(out).toEqual({
      password: "[REDACTED]",
      nested: { client_secret: "[REDACTED]", Authorization: "[REDACTED]", note: "here is [REDACTED]" },
      list: [{ apiKey: "[REDACTED]" }, "Bearer [REDACTED]"],
      accessToken: "[REDACTED]",
    });
  });

  it("cuts long strings, long lists and deep nesting", () => {
    const out = auditArguments({
      text: "a".repeat(1_500),
      many: Array.from({ length: 60 }, (_, i) => i),
      deep: { a: { b: { c: { d: { e: { f: 1 } } } } } },
    }) as {
      text: string;
      many: unknown[];
      deep: unknown;
    };
    expect(out.text).toBe(`${"a".repeat(1_000)}…[+500 chars]`);
    expect(out.many).toHaveLength(51);
    expect(out.many.at(-1)).toBe("[+10 items]");
    expect(JSON.stringify(out.deep)).toContain("[too deep]");
  });

  it("caps the whole record at 4 KiB", () => {
    const out = auditArguments(
      Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`field${i}`, "b".repeat(900)])),
    );
    expect(JSON.stringify(out).length).toBeLessThanOrEqual(MAX_AUDIT_ARGUMENTS_BYTES);
    expect(out).toMatchObject({ _truncated: true });
  });

  it("keeps only text PostgreSQL can store: no NUL, no half of a surrogate pair", () => {
    // 1 + 600 emoji: the 1000-character cut falls between the two halves of an emoji.
    const out = auditArguments({ description: `a${"😀".repeat(600)}`, "k\u0000": "v\u0000" }) as Record<
      string,
      string
    >;
    expect(out.description?.slice(0, 1000)).toBe(`a${"😀".repeat(499)}\ufffd`);
    expect(out["k\ufffd"]).toBe("v\ufffd");
    expect(storableText("ok \ud83d\ude00 \ud83d x \ude00")).toBe("ok 😀 \ufffd x \ufffd");
  });

  it("does bounded work on hostile strings (the scrubber's JWT pattern is quadratic)", () => {
    const started = performance.now();
    const out = auditArguments({ a: "eyJ".repeat(300_000), b: "eyJ".repeat(300_000) }) as Record<
      string,
      string
    >;
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(out.a).toMatch(/…\[\+899000 chars\]$/);
    // A token that starts inside the kept part is still removed whole.
    const jwt = `eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.${"s".repeat(600)}`;
    expect(auditArguments({ note: `${"x".repeat(900)} ${jwt}` })).toEqual({
      note: `${"x".repeat(900)} [REDACTED]`,
    });
  });

  it("records non-object arguments as they came, and missing ones as {}", () => {
    expect(auditArguments("12")).toBe("12");
    expect(auditArguments(undefined)).toEqual({});
  });
});
