import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { decodePageToken, encodePageToken, isOffset, pageSizeOf } from "./page-token.js";

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return ConnectError.from(err).code;
  }
  return undefined;
};

describe("page tokens", () => {
  it("round-trip a position for the list that issued them", () => {
    const token = encodePageToken("threads", 40);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken("threads", token, isOffset)).toBe(40);
    expect(decodePageToken("threads", "", isOffset)).toBeUndefined();
  });

  it("refuse a token of another list, a forged one and garbage with invalid_argument", () => {
    const other = encodePageToken("agents", 40);
    expect(codeOf(() => decodePageToken("threads", other, isOffset))).toBe(Code.InvalidArgument);
    const negative = encodePageToken("threads", -5);
    expect(codeOf(() => decodePageToken("threads", negative, isOffset))).toBe(Code.InvalidArgument);
    for (const bad of ["!!", "bm90LWpzb24", "x".repeat(2000)]) {
      expect(
        codeOf(() => decodePageToken("threads", bad, isOffset)),
        bad.slice(0, 10),
      ).toBe(Code.InvalidArgument);
    }
  });

  it("bound page sizes: 0 is the default, above the maximum is the maximum, negative is refused", () => {
    const limits = { defaultSize: 50, maxSize: 100 };
    expect(pageSizeOf(0, limits)).toBe(50);
    expect(pageSizeOf(7, limits)).toBe(7);
    expect(pageSizeOf(1000, limits)).toBe(100);
    expect(codeOf(() => pageSizeOf(-1, limits))).toBe(Code.InvalidArgument);
  });
});
