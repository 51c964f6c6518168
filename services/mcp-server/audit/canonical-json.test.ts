import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical-json.js";
import { chainedTextAroundPosition, chainHash, GENESIS_HASH } from "./chain-hash.js";

describe("canonicalJson", () => {
  it("sorts keys at every depth, so jsonb's reordering does not change the hash input", () => {
    const a = { b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" }, longer_key: null };
    const b = { longer_key: null, a: { c: "x", d: [3, { y: 2, z: 1 }] }, b: 1 };
    expect(canonicalJson(a)).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1,"longer_key":null}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
  });

  it("drops undefined members like JSON.stringify, and writes dates and lone surrogates as stored", () => {
    expect(canonicalJson({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
    expect(canonicalJson(new Date("2026-01-02T03:04:05.678Z"))).toBe('"2026-01-02T03:04:05.678Z"');
    // UTF-8 encoding on the way into the database turns a lone surrogate into U+FFFD.
    expect(canonicalJson("a\ud800b")).toBe(canonicalJson("a\ufffdb"));
    expect(canonicalJson({ "k\udc00": 1 })).toBe('{"k\ufffd":1}');
  });

  it("refuses what JSON cannot hold", () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalJson(() => 1)).toThrow(TypeError);
  });
});

describe("chainHash", () => {
  const row = {
    id: 1,
    seq: 1,
    at: new Date("2026-01-02T03:04:05.678Z"),
    user_id: "u-1",
    email: null,
    actor_sub: null,
    actor_agent: null,
    actor_chain: [],
    anonymous: false,
    tool: "get_ticket",
    arguments: { ticket_id: 1 },
    outcome: "ok",
    error_code: null,
    error: null,
    duration_ms: 1.25,
    trace_id: null,
    request_id: null,
    session_id: null,
  };

  it("covers every content column and the previous hash", () => {
    const base = chainHash(GENESIS_HASH, row);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(chainHash(GENESIS_HASH, { ...row })).toBe(base);
    for (const [key, value] of Object.entries({
      id: 2,
      seq: 2,
      user_id: "u-2",
      email: "",
      anonymous: true,
      duration_ms: 1.26,
    })) {
      expect(chainHash(GENESIS_HASH, { ...row, [key]: value })).not.toBe(base);
    }
    expect(chainHash(GENESIS_HASH, { ...row, at: new Date(row.at.getTime() + 1) })).not.toBe(base);
    expect(chainHash("1".repeat(64), row)).not.toBe(base);
  });

  it("cut around id and seq, is the text it hashes whatever the row holds (what the database hashes)", () => {
    const rows = [
      row,
      // Values holding the cut's own keys, at depth and as strings; optional columns set.
      {
        ...row,
        id: 9_007_199_254_740_991,
        seq: 123_456,
        arguments: { id: 7, seq: 8, nested: { id: "x", '"id":': [1, { seq: null }] } },
        actor_chain: [{ sub: "agent-1", agent: "support-assistant" }],
        email: 'a"b@company.com',
        error: "line\nbreak \u2028 \ud800",
        confirmed_by: "u-1",
        confirmed_at: new Date("2026-01-02T03:04:06.000Z"),
      },
    ];
    for (const r of rows) {
      const { id, seq, ...rest } = r;
      const t = chainedTextAroundPosition(rest);
      const text = `${t.prefix}${id}${t.middle}${seq}${t.suffix}`;
      const hash = createHash("sha256").update(GENESIS_HASH).update(text).digest("hex");
      expect(hash).toBe(chainHash(GENESIS_HASH, r));
    }
  });
});
