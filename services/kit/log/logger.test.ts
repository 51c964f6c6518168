import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { currentCallScope, runInCallScope } from "../propagation/call-scope.js";
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

  it("stamps each line with the current time, ISO 8601 to the millisecond, however fast lines come", async () => {
    const { logger, records } = captureLogs("svc");
    const before = Date.now();
    for (let i = 0; i < 50; i++) logger.info("burst");
    await new Promise((r) => setTimeout(r, 5));
    logger.info("later");
    const after = Date.now();
    const times = records().map((r) => r.time as string);
    for (const time of times) {
      expect(time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(Date.parse(time)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(time)).toBeLessThanOrEqual(after);
    }
    expect(Date.parse(times.at(-1) as string) - Date.parse(times[0] as string)).toBeGreaterThanOrEqual(5);
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
    for (const secret of [JWT, "hunter2-secret", "opaque-refresh-abc", "pg-secret-pw"])
      expect(all).not.toContain(secret);
    expect(all).toContain("[REDACTED]");
    expect(all).toContain("a@b.c");
  });

  it("redacts secret keys at any depth, including inside arrays", () => {
    const { logger, lines } = captureLogs("svc");
    logger.info({ ctx: { req: { headers: { authorization: `Bearer ${JWT}` } } } }, "deep");
    logger.info(
      { calls: [{ attempt: 1, request: { body: { subject_token: "opaque-subject-abc" } } }] },
      "in an array",
    );
    expect(lines.join("\n")).not.toContain(JWT);
    expect(lines.join("\n")).not.toContain("opaque-subject-abc");
    expect(lines.join("\n")).toContain('"attempt":1');
  });

  it("matches secret key names regardless of case and spelling", () => {
    const { logger, lines } = captureLogs("svc");
    logger.info(
      {
        Password: "Hunter2-capital",
        "x-api-key": "opaque-api-key-1",
        apiKey: "opaque-api-key-2",
        Cookie: "sid=opaque-cookie",
        clientSecret: "opaque-client-secret",
        credentials: { user: "a", pass: "opaque-credentials" },
      },
      "keys",
    );
    // Node's rawHeaders: [name, value, name, value, …]; a value is secret when its name is.
    logger.info(
      {
        rawHeaders: [
          "Host",
          "api.example",
          "X-Api-Key",
          "opaque-api-key-3",
          "Authorization",
          "Basic b3BhcXVl",
        ],
      },
      "raw",
    );
    const all = lines.join("\n");
    for (const secret of [
      "Hunter2-capital",
      "opaque-api-key-1",
      "opaque-api-key-2",
      "opaque-cookie",
      "opaque-client-secret",
      "opaque-credentials",
      "opaque-api-key-3",
      "b3BhcXVl",
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all).toContain("api.example");
  });

  it("keeps fields that only describe a secret (token_type, counts of exchanges)", () => {
    const { logger, records } = captureLogs("svc");
    logger.info(
      {
        token_type: "Bearer",
        issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
        exchanges: 3,
      },
      "exchange",
    );
    expect(records()[0]).toMatchObject({
      token_type: "Bearer",
      issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
      exchanges: 3,
    });
  });

  it("scrubs free text at any depth", () => {
    const { logger, lines } = captureLogs("svc");
    logger.warn({ upstream: { detail: `upstream said Bearer ${JWT}` } }, "nested detail");
    logger.warn({ attempts: [`tried with password=hunter2-nested`] }, "array of text");
    const all = lines.join("\n");
    expect(all).not.toContain(JWT);
    expect(all).not.toContain("hunter2-nested");
  });

  it("scrubs every part of a logged error: rawMessage, cause and custom properties", () => {
    const { logger, lines } = captureLogs("svc");
    const connect = new ConnectError(`upstream refused Bearer ${JWT}`, Code.Internal);
    logger.error({ err: connect }, "connect error");
    // A cause that is not an Error is copied as it is (ConnectError's `cause` is enumerable).
    const withCause = new ConnectError("exchange failed", Code.Unavailable, undefined, undefined, {
      response: "access_token=opaque-in-cause",
    });
    logger.error({ err: withCause }, "cause");
    const custom = Object.assign(new Error("request failed"), {
      config: { headers: { Authorization: "Basic b3BhcXVlLWN1c3RvbQ" } },
      responseBody: `{"client_secret":"opaque-in-body"}`,
    });
    logger.error({ err: custom }, "custom properties");
    logger.error({ upstream: { error: connect } }, "an error below the top level");
    const all = lines.join("\n");
    for (const secret of [JWT, "opaque-in-cause", "b3BhcXVlLWN1c3RvbQ", "opaque-in-body"])
      expect(all).not.toContain(secret);
    expect(all).toContain("upstream refused Bearer [REDACTED]");
  });

  it("scrubs the message of an error logged as the first argument", () => {
    const { logger, records } = captureLogs("svc");
    logger.error(new Error(`could not verify ${JWT}`));
    logger.error({ err: new Error(`password=hunter2-first`) });
    logger.error({ err: new Error("not the message"), msg: "its own message" });
    const [first, second, third] = records();
    expect(first?.msg).toBe("could not verify [REDACTED]");
    expect(JSON.stringify(first)).not.toContain(JWT);
    expect(second?.msg).toBe("password=[REDACTED]");
    expect(third?.msg).toBe("its own message");
  });

  it("survives cycles and very deep objects without leaking", () => {
    const { logger, lines } = captureLogs("svc");
    const loop: Record<string, unknown> = { name: "loop", detail: `Bearer ${JWT}` };
    loop.self = loop;
    logger.info({ loop }, "cycle");
    let deep: Record<string, unknown> = { authorization: `Bearer ${JWT}`, note: `Bearer ${JWT}` };
    for (let i = 0; i < 50; i++) deep = { next: deep };
    logger.info({ deep }, "deep");
    expect(lines).toHaveLength(2);
    expect(lines.join("\n")).not.toContain(JWT);
  });

  it("redacts secrets in child logger bindings", () => {
    const { logger, lines } = captureLogs("svc");
    logger.child({ peer: { authorization: `Bearer ${JWT}` } }).info("bound");
    logger
      .child({ hop: "A" })
      .child({ upstream: { detail: `Bearer ${JWT}` } })
      .info("grandchild");
    expect(lines.join("\n")).not.toContain(JWT);
  });

  it("does not change the objects it logs", () => {
    const { logger } = captureLogs("svc");
    const body = { password: "kept-for-the-caller", nested: { detail: `Bearer ${JWT}` } };
    logger.info({ body }, "login");
    expect(body).toEqual({ password: "kept-for-the-caller", nested: { detail: `Bearer ${JWT}` } });
  });

  it("scrubSecrets leaves ordinary text alone", () => {
    expect(scrubSecrets("ticket 12 closed by user-1")).toBe("ticket 12 closed by user-1");
  });

  it("keeps token, bearer and secret as words in messages, fields and errors, and removes the credentials", () => {
    const { logger, records, lines } = captureLogs("svc");
    logger.warn("no bearer token was presented");
    logger.warn({ reason: "subject_token: login session has been revoked" }, "exchange refused");
    logger.error(
      { err: new ConnectError("the secret is wrong", Code.Unauthenticated) },
      "client authentication failed",
    );
    logger.warn(`no bearer token was presented; got Bearer ${JWT} instead`);
    const [words, field, error, both] = records();
    expect(words?.msg).toBe("no bearer token was presented");
    expect(field?.reason).toBe("subject_token: login session has been revoked");
    expect(error?.err).toMatchObject({ message: "[unauthenticated] the secret is wrong" });
    expect(both?.msg).toBe("no bearer token was presented; got Bearer [REDACTED] instead");
    expect(lines.join("\n")).not.toContain(JWT);
  });
});
