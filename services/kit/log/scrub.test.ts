import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
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
    const run = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { encoding: "utf8", timeout: 15_000 });
    expect(run.signal).toBeNull();
    expect(run.stdout).toBe("scrubbed");
  }, 20_000);
});
