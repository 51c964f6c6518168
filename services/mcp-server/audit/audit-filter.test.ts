import { describe, expect, it } from "vitest";
import { parseAuditFilter } from "./audit-filter.js";

const NOW = new Date("2026-06-01T12:00:00Z");

describe("parseAuditFilter", () => {
  it("reads ages and ISO times", () => {
    const r = parseAuditFilter(
      { user: "admin@company.com", since: "24h", until: "2026-06-01T11:00:00Z", limit: "5" },
      NOW,
    );
    expect(r).toEqual({
      ok: true,
      query: {
        user: "admin@company.com",
        since: new Date("2026-05-31T12:00:00Z"),
        until: new Date("2026-06-01T11:00:00Z"),
        limit: 5,
      },
    });
    expect(parseAuditFilter({ since: "2026-05-01" }, NOW)).toMatchObject({
      ok: true,
      query: { since: new Date("2026-05-01T00:00:00Z"), limit: 100 },
    });
  });

  it("explains what is wrong", () => {
    expect(parseAuditFilter({ since: "soon" }, NOW)).toEqual({
      ok: false,
      error: 'since: expected an ISO 8601 time or an age like 24h, got "soon"',
    });
    expect(parseAuditFilter({ outcome: "fine" }, NOW)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^outcome:/),
    });
    expect(parseAuditFilter({ limit: "0" }, NOW)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^limit:/),
    });
    expect(parseAuditFilter({ limit: "5000" }, NOW)).toMatchObject({ ok: false });
    // Read by JavaScript as the year 45095, which PostgreSQL refuses as a parameter.
    expect(parseAuditFilter({ since: "plain 45095" }, NOW)).toEqual({
      ok: false,
      error: 'since: expected an ISO 8601 time or an age like 24h, got "plain 45095"',
    });
    // An age so large it lands before year 1: refused like any other unreadable time, not sent on.
    expect(parseAuditFilter({ since: "99999999999d" }, NOW)).toEqual({
      ok: false,
      error: 'since: expected an ISO 8601 time or an age like 24h, got "99999999999d"',
    });
    // PostgreSQL refuses a NUL in a text parameter; no name or id holds a control character.
    expect(parseAuditFilter({ user: "\u0000" }, NOW)).toEqual({
      ok: false,
      error: "user: contains a control character",
    });
    expect(parseAuditFilter({ tool: "a\u0000b" }, NOW)).toMatchObject({ ok: false, error: /^tool: / });
    expect(parseAuditFilter({ trace: "\u0000" }, NOW)).toMatchObject({ ok: false, error: /^trace: / });
    expect(parseAuditFilter({ user: "\ud800" }, NOW)).toEqual({
      ok: false,
      error: "user: is not well-formed Unicode",
    });
  });
});
