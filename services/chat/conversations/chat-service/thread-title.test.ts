import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { TITLE_MAX, threadTitle } from "./thread-title.js";

const refusal = (raw: string, required = true) => {
  try {
    threadTitle(raw, { required });
  } catch (err) {
    const ce = ConnectError.from(err);
    return `${Code[ce.code]}: ${ce.rawMessage}`;
  }
  return "accepted";
};

describe("a thread's title", () => {
  it("is trimmed; empty only where not required", () => {
    expect(threadTitle("  Printer follow-up  ", { required: true })).toBe("Printer follow-up");
    expect(threadTitle("   ", { required: false })).toBe("");
    expect(refusal("   ")).toBe("InvalidArgument: title: required (not blank)");
  });

  it("counts characters, not UTF-16 units: 200 emoji pass, 201 do not", () => {
    expect(threadTitle("😀".repeat(TITLE_MAX), { required: true })).toHaveLength(2 * TITLE_MAX);
    expect(refusal("😀".repeat(TITLE_MAX + 1))).toBe("InvalidArgument: title: at most 200 characters");
  });

  it("is one line, with nothing that makes it read as another, and something visible", () => {
    for (const raw of ["two\nlines", "a\ttab", "cr\rhere", "line\u2028sep"]) {
      expect(refusal(raw), JSON.stringify(raw)).toBe("InvalidArgument: title: one line, without tabs");
    }
    for (const raw of ["gpj.\u202eexe", "\u2066isolate\u2069"]) {
      expect(refusal(raw), JSON.stringify(raw)).toBe(
        "InvalidArgument: title: no bidirectional control characters",
      );
    }
    expect(refusal("\u200b\u200b")).toBe("InvalidArgument: title: nothing visible in it");
    expect(refusal("\u200b\u200b", false)).toBe("InvalidArgument: title: nothing visible in it");
    expect(threadTitle("Ticket #12 — «printer» 🔥", { required: true })).toBe("Ticket #12 — «printer» 🔥");
  });
});
