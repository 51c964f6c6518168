import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "./config.js";
import { SECRET_VARIABLES } from "./secret-files.js";

/** `<NAME>_FILE` for every secret (docs/architecture.md, "Secrets from files"), through `parseConfig`. */
const dir = mkdtempSync(join(tmpdir(), "secret-files-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

/** The one-line message `parseConfig` refuses `env` with. */
function refusal(env: Record<string, string>): string {
  try {
    parseConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("accepted");
}

describe("secrets from files", () => {
  it("every secret variable can be given as <NAME>_FILE; the value is the file's content, trimmed", () => {
    const values: Record<string, string> = {
      DATABASE_URL: "postgres://support:s3cret@db:5432/support",
      LLM_API_KEY: "sk-from-a-file",
    };
    const env: Record<string, string> = {};
    for (const name of SECRET_VARIABLES) {
      values[name] ??= `${name.toLowerCase()}-from-a-file`;
      // Trailing newline (echo, editors) and surrounding blanks are not part of the value.
      env[`${name}_FILE`] = file(name, `  ${values[name]}\n\n`);
    }
    const config = parseConfig(env);
    for (const name of SECRET_VARIABLES) expect(config[name]).toBe(values[name]);
    // The path is not configuration: nothing named *_FILE survives parsing.
    expect(Object.keys(config).filter((k) => k.endsWith("_FILE"))).toEqual([]);
  });

  it("a value from a file is validated like one from the environment", () => {
    const message = refusal({ GATEWAY_CLIENT_SECRET_FILE: file("short", "short\n") });
    expect(message).toMatch(/^invalid configuration: GATEWAY_CLIENT_SECRET: /);
    expect(message).not.toContain("short\n");
  });

  it("both NAME and NAME_FILE: one line naming both and the fix", () => {
    const message = refusal({
      CHAT_CLIENT_SECRET: "chat-secret-in-env",
      CHAT_CLIENT_SECRET_FILE: file("chat", "chat-secret-in-file"),
    });
    expect(message).toBe(
      "invalid configuration: both CHAT_CLIENT_SECRET and CHAT_CLIENT_SECRET_FILE are set: unset one (CHAT_CLIENT_SECRET_FILE names a file holding the value)",
    );
    expect(message.split("\n")).toHaveLength(1);
    expect(message).not.toMatch(/chat-secret-in/);
  });

  it("a missing, unreadable or empty file is refused by name, never with the file's content", () => {
    expect(refusal({ MCP_CLIENT_SECRET_FILE: join(dir, "absent") })).toBe(
      `invalid configuration: MCP_CLIENT_SECRET_FILE: cannot read ${join(dir, "absent")} (ENOENT): give a readable file holding the value`,
    );
    expect(refusal({ SEED_ADMIN_PASSWORD_FILE: file("empty", " \n") })).toBe(
      `invalid configuration: SEED_ADMIN_PASSWORD_FILE: ${join(dir, "empty")} is empty: put the value in the file`,
    );
    const locked = file("locked", "locked-secret-value");
    chmodSync(locked, 0o000);
    // root reads any file: only where permissions apply is this a refusal.
    if (process.getuid?.() !== 0) expect(refusal({ AGENT_CLIENT_SECRET_FILE: locked })).toMatch(/EACCES/);
    // Several problems, still one line.
    const both = refusal({
      MCP_CLIENT_SECRET_FILE: join(dir, "absent"),
      LLM_API_KEY: "a",
      LLM_API_KEY_FILE: locked,
    });
    expect(both.split("\n")).toHaveLength(1);
    expect(both).toMatch(/MCP_CLIENT_SECRET_FILE.*; both LLM_API_KEY and LLM_API_KEY_FILE/);
  });

  it("an empty NAME_FILE is unset; a non-secret variable has no _FILE form", () => {
    expect(
      parseConfig({ CHAT_CLIENT_SECRET_FILE: "", CHAT_CLIENT_SECRET: "from-the-env" }).CHAT_CLIENT_SECRET,
    ).toBe("from-the-env");
    expect(parseConfig({ LOG_LEVEL_FILE: file("level", "debug") }).LOG_LEVEL).toBe("info");
  });

  it("loadConfig: both given is a start-up error, exit code 2 and that one line", () => {
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", "-e", "import('./services/kit/config/config.ts').then(m => m.loadConfig())"],
      {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "",
          DATABASE_URL: "postgres://support:pw@db:5432/support",
          DATABASE_URL_FILE: file("database-url", "postgres://support:pw@db:5432/support"),
        },
        encoding: "utf8",
      },
    );
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split("\n")).toEqual([
      "invalid configuration: both DATABASE_URL and DATABASE_URL_FILE are set: unset one (DATABASE_URL_FILE names a file holding the value)",
    ]);
  });
});
