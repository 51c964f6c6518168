import { describe, expect, it } from "vitest";
import { runInCallScope, currentCallScope } from "../propagation/call-scope.js";
import { captureLogs } from "../testing/log-capture.js";
import { scrubSecrets } from "./scrub.js";

const JWT =
  "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJ1c2VyLTEiLCJzY29wZSI6InRpY2tldHM6cmVhZCJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU";

describe("logger", () => {
  it("writes JSON lines with the service name and level label", () => {
    const { logger, records } = captureLogs("svc");
    logger.info({ n: 1 }, "hello");
    expect(records()[0]).toMatchObject({ service: "svc", level: "info", msg: "hello", n: 1 });
  });

  it("binds trace_id, request_id and user_id of the current call to every line", () => {
    const { logger, records } = captureLogs("svc");
    runInCallScope(() => {
      Object.assign(currentCallScope() ?? {}, {
        trace: { traceId: "a".repeat(32), spanId: "b".repeat(16), sampled: true },
        requestId: "req-1",
        principal: { userId: "user-7" },
      });
      logger.info("inside");
    });
    logger.info("outside");
    const [inside, outside] = records();
    expect(inside).toMatchObject({ trace_id: "a".repeat(32), request_id: "req-1", user_id: "user-7" });
    expect(outside).not.toHaveProperty("user_id");
  });

  it("redacts tokens and passwords in fields, headers, bodies, messages and errors", () => {
    const { logger, lines } = captureLogs("svc");
    logger.info({ headers: { authorization: `Bearer ${JWT}` } }, "request");
    logger.info({ req: { headers: { Authorization: `Bearer ${JWT}` } } }, "nested");
    logger.info({ body: { email: "a@b.c", password: "hunter2-secret" } }, "login");
    logger.info({ refresh_token: "opaque-refresh-abc" }, "refresh");
    logger.warn(`Authentication failed: bad token ${JWT}`);
    logger.warn({ detail: `upstream said Bearer ${JWT}` }, "detail");
    logger.error({ err: new Error(`could not verify ${JWT} for password=hunter2-secret`) }, "boom");
    logger.info({ url: "postgres://app:pg-secret-pw@db:5432/x" }, "db");
    const all = lines.join("\n");
    for (const secret of [JWT, "hunter2-secret", "opaque-refresh-abc", "pg-secret-pw"]) expect(all).not.toContain(secret);
    expect(all).toContain("[REDACTED]");
    expect(all).toContain("a@b.c");
  });

  it("scrubSecrets leaves ordinary text alone", () => {
    expect(scrubSecrets("ticket 12 closed by user-1")).toBe("ticket 12 closed by user-1");
  });
});
