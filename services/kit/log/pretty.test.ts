import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";
import { formatPretty } from "./pretty.js";

describe("LOG_FORMAT=pretty", () => {
  it("prints time, level, service, message and the other fields on one line, without color off a terminal", () => {
    const line = JSON.stringify({
      level: "info",
      time: "2026-12-02T05:04:05.123Z",
      service: "chat",
      msg: "listening",
      url: "http://127.0.0.1:8080",
      n: 2,
    });
    expect(formatPretty(line, false)).toBe(
      "05:04:05.123  INFO   chat         listening  url=http://127.0.0.1:8080  n=2",
    );
    expect(formatPretty(line, true)).toContain("\u001b[32mINFO ");
  });

  it("puts an error's stack under its line, and passes anything that is not JSON through", () => {
    const line = JSON.stringify({
      level: "error",
      time: "2026-12-02T05:04:05.123Z",
      service: "stack",
      msg: "boom",
      err: { message: "bad", stack: "Error: bad\n    at x" },
    });
    expect(formatPretty(line, false)).toBe(
      "05:04:05.123  ERROR  stack        boom\n    Error: bad\n        at x",
    );
    expect(formatPretty("plain text", false)).toBe("plain text");
  });

  it("is what createLogger writes when asked, still sanitized", () => {
    const written: string[] = [];
    const logger = createLogger({
      service: "svc",
      format: "pretty",
      destination: { write: (s: string) => written.push(s) },
    });
    logger.info({ password: "hunter2hunter2", user: "u-1" }, "hello");
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} {2}INFO {3}svc {10}hello {2}password=\[REDACTED\] {2}user=u-1\n$/,
    );
    expect(written[0]).not.toContain("hunter2");
  });
});
