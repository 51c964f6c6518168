import { describe, expect, it } from "vitest";
import { dirtyStringIn, STRICT, textProblem } from "#kit/input/index.js";
import { parseParameters, parseQuery } from "./request-parameters.js";

const refuse = (description: string) => new Error(description);

describe("the identity service's text rule (docs/identity.md, Malformed input)", () => {
  it("is the kit's strict rule: TAB, LF and CR are refused too", () => {
    for (const bad of ["\u0000", "\t", "\r\n", "\u007f", "\u0085", "\ud800"]) {
      expect(textProblem(bad, STRICT), JSON.stringify(bad)).toBeDefined();
    }
    expect(dirtyStringIn({ client_name: "a\nb" }, STRICT)).toBe("$.client_name contains a control character");
    expect(() => parseParameters("state=a%09b", refuse)).toThrow();
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
