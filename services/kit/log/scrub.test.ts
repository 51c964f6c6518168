import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { childEnv } from "../testing/child-env.js";
import { REDACTED, scrubSecrets } from "./scrub.js";

const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJl";

describe("scrubSecrets", () => {
  it("removes JWTs, bearer credentials, secret pairs and URL passwords wherever they sit", () => {
    const out = scrubSecrets(
      `failed (${jwt}) Authorization: Bearer abc.def-123 password=hunter2 {"client_secret":"s3cr3t"} postgres://u:pw@db/x x.${jwt}`,
    );
    for (const secret of [jwt, "abc.def-123", "hunter2", "s3cr3t", ":pw@"]) expect(out).not.toContain(secret);
    expect(out).toContain(REDACTED);
    expect(out).toContain("postgres://u:[REDACTED]@db/x");
  });

  it("stays linear on hostile input that almost matches (no rescanning from every position)", () => {
    // Quadratic patterns take minutes on these (measured: 180 KB took 12–45 s); linear ones, ms.
    // A regex can't be interrupted in-process, so a child process runs it under a generous kill
    // bound: the test fails when the bound is hit, it measures nothing.
    const script = `
      import("./services/kit/log/scrub.ts").then(({ scrubSecrets }) => {
        for (const hostile of ["eyJ".repeat(400000), "a.".repeat(600000), "eyJa".repeat(200000) + ".x"]) scrubSecrets(hostile);
        process.stdout.write("scrubbed");
      });`;
    const run = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
      encoding: "utf8",
      timeout: 15_000,
      env: childEnv(),
    });
    expect(run.signal).toBeNull();
    expect(run.stdout).toBe("scrubbed");
  }, 20_000);
});

describe("scrubSecrets' first look (text that names no secret is returned as it is)", () => {
  it("lets no pattern through alone: each credential by itself is still removed", () => {
    const alone: [string, string][] = [
      [`token was ${jwt} then`, "token was [REDACTED] then"],
      ["BEARER Zm9vYmFyYmF6cXV4cXV1eA", "BEARER [REDACTED]"],
      ["passwd=hunter22", "passwd=[REDACTED]"],
      ["Password: 'correct horse'", "Password: '[REDACTED]'"],
      ["refresh_token=abc", "refresh_token=[REDACTED]"],
      ["ACTOR_TOKEN=xyz", "ACTOR_TOKEN=[REDACTED]"],
      ["api-key=k", "api-key=[REDACTED]"],
      ["ApiKey: 0123456789abcdef0123", "ApiKey: [REDACTED]"],
      ["https://user:p4ss@host/path", "https://user:[REDACTED]@host/path"],
    ];
    for (const [text, scrubbed] of alone) expect(scrubSecrets(text), text).toBe(scrubbed);
  });

  it("returns the very same string when nothing in it can be a secret", () => {
    const plain = "tool get_ticket ok for user 5c7c82b7 in 3 ms";
    expect(scrubSecrets(plain)).toBe(plain);
  });
});

describe("scrubSecrets keeps words", () => {
  it("keeps token, bearer and secret used as words in prose", () => {
    for (const prose of [
      "no bearer token was presented",
      "Bearer token missing: send Authorization: Bearer <token>",
      "subject_token: login session has been revoked",
      "invalid_grant: subject_token: expired",
      "the secret is wrong",
      "client_secret: does not match",
      "password: too short",
      'www-authenticate: Bearer realm="mcp", error="invalid_token"',
    ]) {
      expect(scrubSecrets(prose)).toBe(prose);
    }
  });

  it("still removes the credentials next to those words", () => {
    const cases: [string, string][] = [
      [`no bearer token: Bearer ${jwt}`, "no bearer token: Bearer [REDACTED]"],
      ["Authorization: Bearer opaque-4f9c2d7e1a", "Authorization: Bearer [REDACTED]"],
      ["Bearer Zm9vYmFyYmF6cXV4cXV1eA", "Bearer [REDACTED]"],
      ["client_secret: s3cr3t-value", "client_secret: [REDACTED]"],
      ["client_secret=dev-gateway-secret&grant_type=x", "client_secret=[REDACTED]&grant_type=x"],
      ['{"password":"correct horse"}', '{"password":"[REDACTED]"}'],
      ["password: 'two words'", "password: '[REDACTED]'"],
      ["password=hunter", "password=[REDACTED]"],
      ["refresh_token: rt_8c1f0e5b2a9d", "refresh_token: [REDACTED]"],
      ["refresh_token=opaquerefreshtokenvalue", "refresh_token=[REDACTED]"],
    ];
    for (const [input, output] of cases) expect(scrubSecrets(input)).toBe(output);
  });
});
