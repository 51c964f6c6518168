import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "#kit/config/index.js";
import { CannotStartError } from "#kit/process/index.js";
import { SIGNING_KEY_SECRET_FILE_NAME, withSigningKeySecret } from "./data-dir-secret.js";

/** The secret a development data directory seals its signing keys with (docs/identity.md). */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), "signing-secret-"));
  dirs.push(d);
  return join(d, "data"); // not there yet: the first start makes it
}

describe("the data directory's signing-key secret", () => {
  it("is made on the first start (32 random bytes, mode 0600) and the same on every later one", () => {
    const dir = dataDir();
    const env = { DATA_DIR: dir };
    const first = withSigningKeySecret(parseConfig(env), env);
    const path = join(dir, SIGNING_KEY_SECRET_FILE_NAME);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(first.SIGNING_KEY_SECRET).toBe(readFileSync(path, "utf8").trim());
    expect(Buffer.from(first.SIGNING_KEY_SECRET, "base64url")).toHaveLength(32);
    expect(first.SIGNING_KEY_SECRET).not.toBe(parseConfig({}).SIGNING_KEY_SECRET); // not the published default
    expect(withSigningKeySecret(parseConfig(env), env).SIGNING_KEY_SECRET).toBe(first.SIGNING_KEY_SECRET);
  });

  it("refuses a file that holds no secret (empty, cut short) with one line naming it and the fix", () => {
    const dir = dataDir();
    const env = { DATA_DIR: dir };
    withSigningKeySecret(parseConfig(env), env);
    writeFileSync(join(dir, SIGNING_KEY_SECRET_FILE_NAME), "\n");
    const err = (() => {
      try {
        withSigningKeySecret(parseConfig(env), env);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CannotStartError);
    expect((err as Error).message).toMatch(
      /^identity cannot start: \S+signing-key\.secret does not hold a signing-key secret \(32 random bytes, base64url\)\. Restore it/,
    );
  });

  it("gives way to a secret the environment sets, and is never made in production", () => {
    const dir = dataDir();
    const set = { DATA_DIR: dir, SIGNING_KEY_SECRET: "an-operator-chosen-secret" };
    expect(withSigningKeySecret(parseConfig(set), set).SIGNING_KEY_SECRET).toBe("an-operator-chosen-secret");
    const production = { DATA_DIR: dir, NODE_ENV: "production" };
    expect(withSigningKeySecret(parseConfig(production), production).SIGNING_KEY_SECRET).toBe(
      parseConfig({}).SIGNING_KEY_SECRET, // refused at start-up in production (refuseDevelopmentSecrets)
    );
    expect(() => statSync(join(dir, SIGNING_KEY_SECRET_FILE_NAME))).toThrow();
  });
});
