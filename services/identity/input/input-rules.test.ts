import { describe, expect, it } from "vitest";
import { dirtyStringIn, MAX_DEPTH, textProblem } from "./clean-text.js";
import { parseParameters, parseQuery } from "./request-parameters.js";

const refuse = (description: string) => new Error(description);

describe("the text rule (docs/identity.md, Malformed input)", () => {
  it("refuses control characters (C0, DEL, C1) and lone surrogates; accepts printable Unicode", () => {
    for (const bad of [
      "\u0000",
      "a\u0000b",
      "\t",
      "\r\n",
      "\u001f",
      "\u007f",
      "\u0085",
      "\ud800",
      "x\udfff",
      "\udbffA",
    ]) {
      expect(textProblem(bad), JSON.stringify(bad)).toBeDefined();
    }
    for (const ok of [
      "",
      "agent@company.com",
      "é😀\u2028\ufeff",
      "https://app.example/cb?x=1#y",
      "\ud83d\ude00",
    ]) {
      expect(textProblem(ok), JSON.stringify(ok)).toBeUndefined();
    }
  });

  it("finds the first dirty string anywhere in a parsed document, keys included, and bounds nesting", () => {
    expect(dirtyStringIn({ redirect_uris: ["https://a.example/cb"], client_name: "ok" })).toBeUndefined();
    expect(dirtyStringIn({ redirect_uris: ["https://a.example/\u0000"] })).toBe(
      "$.redirect_uris[0] contains a control character",
    );
    expect(dirtyStringIn({ "k\u0001": 1 })).toMatch(/^a key in \$ contains a control character/);
    expect(dirtyStringIn({ a: { b: ["\ud800"] } })).toBe("$.a.b[0] is not well-formed Unicode");
    expect(dirtyStringIn(new Uint8Array([0, 1, 2]))).toBeUndefined();
    const deep = JSON.parse(`${"[".repeat(10_000)}${"]".repeat(10_000)}`);
    expect(dirtyStringIn(deep)).toMatch(/nested too deeply/);
    let shallow: unknown = "x";
    for (let i = 0; i < MAX_DEPTH; i++) shallow = [shallow];
    expect(dirtyStringIn(shallow)).toBeUndefined();
  });
});

describe("parameter parsing, shared by every identity endpoint", () => {
  it("decodes form-urlencoded text as URLSearchParams does when it is well-formed", () => {
    const params = parseParameters("a=1&b=x+y%20z&c=%C3%A9&a=2&flag&=v", refuse);
    expect([...params]).toEqual([
      ["a", "1"],
      ["b", "x y z"],
      ["c", "é"],
      ["a", "2"],
      ["flag", ""],
      ["", "v"],
    ]);
    expect([...parseQuery("/oauth2/authorize?client_id=mcp_x&state=s", refuse)]).toEqual([
      ["client_id", "mcp_x"],
      ["state", "s"],
    ]);
    expect([...parseQuery("/oauth2/authorize", refuse)]).toEqual([]);
  });

  it("refuses control characters raw or encoded, broken percent-encoding and non-UTF-8 bytes", () => {
    for (const bad of [
      "client_id=%00",
      "client_id=a%0Ab",
      "client%00=x",
      "x=\u0000",
      "x=%",
      "x=%G1",
      "x=%E0%A4",
      "x=%C0%80",
      "x=%ED%A0%80",
      "x=%FF",
      "x=%7F",
      "x=%C2%85",
    ]) {
      expect(() => parseParameters(bad, refuse), bad).toThrow();
    }
  });
});
