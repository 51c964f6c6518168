import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, refuseDevelopmentSecrets } from "./config.js";

describe("config", () => {
  it("starts on embedded defaults with nothing set", () => {
    const c = parseConfig({});
    expect(c).toMatchObject({
      HOST: "127.0.0.1",
      CHAT_PORT: 8080,
      AGENT_PORT: 8081,
      GATEWAY_PORT: 8082,
      MCP_PORT: 8083,
      IDENTITY_PORT: 8084,
      IDENTITY_URL: "http://127.0.0.1:8084",
      DATA_DIR: "./.data",
      // The identity service is the issuer: every token names it, every verifier fetches its keys.
      AUTH_ISSUER: "http://127.0.0.1:8084",
      AUTH_JWKS_URL: "http://127.0.0.1:8084/.well-known/jwks.json",
      AUTH_TOKEN_URL: "http://127.0.0.1:8084/oauth2/token",
      MCP_RESOURCE: "http://127.0.0.1:8083/mcp",
      ACCESS_TOKEN_TTL: 900,
      MCP_TOKEN_MODE: "exchange",
      AUTH_DEV_ANONYMOUS: false,
      CORS_ORIGINS: [],
    });
    expect(c.DATABASE_URL).toBeUndefined();
  });

  it("parses durations, lists and flags", () => {
    const c = parseConfig({
      ACCESS_TOKEN_TTL: "1h",
      CORS_ORIGINS: "chrome-extension://abcdef, http://localhost:5173",
      AUTH_DEV_ANONYMOUS: "1",
      DATABASE_URL: "postgres://u:p@db:5432/app",
    });
    expect(c.ACCESS_TOKEN_TTL).toBe(3600);
    expect(c.CORS_ORIGINS).toEqual(["chrome-extension://abcdef", "http://localhost:5173"]);
    expect(c.AUTH_DEV_ANONYMOUS).toBe(true);
    expect(c.DATABASE_URL).toBe("postgres://u:p@db:5432/app");
  });

  it("names every bad variable in one line", () => {
    let message = "";
    try {
      parseConfig({
        CHAT_PORT: "seventy",
        MCP_TOKEN_MODE: "yolo",
        ACCESS_TOKEN_TTL: "soon",
        CORS_ORIGINS: "*",
      });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message.split("\n")).toHaveLength(1);
    for (const name of ["CHAT_PORT", "MCP_TOKEN_MODE", "ACCESS_TOKEN_TTL", "CORS_ORIGINS"])
      expect(message).toContain(name);
  });

  it("bounds chat's limits per user: 0 turns one off, more than a million is refused at start", () => {
    expect(parseConfig({ CHAT_USER_TURNS_PER_MINUTE: "0" }).CHAT_USER_TURNS_PER_MINUTE).toBe(0);
    expect(parseConfig({}).CHAT_USER_OPEN_TURNS).toBe(8);
    for (const [name, value] of [
      ["CHAT_USER_TURNS_PER_MINUTE", "3000000000"],
      ["CHAT_USER_OPEN_TURNS", "-1"],
      ["CHAT_USER_THREADS_PER_MINUTE", "1.5"],
    ]) {
      expect(() => parseConfig({ [name as string]: value })).toThrow(name);
    }
  });

  it("refuses the development fallback in production", () => {
    expect(() => parseConfig({ AUTH_DEV_ANONYMOUS: "1", NODE_ENV: "production" })).toThrow(
      /AUTH_DEV_ANONYMOUS/,
    );
  });

  it("allows loopback metadata documents in development and test unless turned off, never in production", () => {
    expect(parseConfig({}).CLIENT_METADATA_ALLOW_LOOPBACK).toBe(true);
    expect(parseConfig({ NODE_ENV: "test" }).CLIENT_METADATA_ALLOW_LOOPBACK).toBe(true);
    expect(parseConfig({ CLIENT_METADATA_ALLOW_LOOPBACK: "0" }).CLIENT_METADATA_ALLOW_LOOPBACK).toBe(false);
    expect(parseConfig({ NODE_ENV: "production" }).CLIENT_METADATA_ALLOW_LOOPBACK).toBe(false);
    expect(() => parseConfig({ NODE_ENV: "production", CLIENT_METADATA_ALLOW_LOOPBACK: "1" })).toThrow(
      /CLIENT_METADATA_ALLOW_LOOPBACK/,
    );
  });

  it("refuses the published development secrets in production, only those a process names", () => {
    const prod = parseConfig({ NODE_ENV: "production", SEED_ADMIN_PASSWORD: "a-real-admin-password" });
    expect(() => refuseDevelopmentSecrets(prod, ["GATEWAY_CLIENT_SECRET", "SEED_ADMIN_PASSWORD"])).toThrow(
      /^invalid configuration: NODE_ENV=production with development defaults for GATEWAY_CLIENT_SECRET: set real values$/,
    );
    expect(() => refuseDevelopmentSecrets(prod, ["SEED_ADMIN_PASSWORD"])).not.toThrow();
    const dev = parseConfig({});
    expect(() =>
      refuseDevelopmentSecrets(dev, ["GATEWAY_CLIENT_SECRET", "SEED_ADMIN_PASSWORD"]),
    ).not.toThrow();
  });

  it("refuses the signing keys' sealing secret in production at its default or under 32 bytes", () => {
    expect(() =>
      refuseDevelopmentSecrets(parseConfig({ NODE_ENV: "production" }), ["SIGNING_KEY_SECRET"]),
    ).toThrow(/development defaults for SIGNING_KEY_SECRET: set real values$/);
    const short = parseConfig({ NODE_ENV: "production", SIGNING_KEY_SECRET: "sixteen-bytes-ok" });
    expect(() => refuseDevelopmentSecrets(short, ["SIGNING_KEY_SECRET"])).toThrow(
      /with SIGNING_KEY_SECRET shorter than 32 bytes/,
    );
    const long = parseConfig({ NODE_ENV: "production", SIGNING_KEY_SECRET: "k".repeat(32) });
    expect(() => refuseDevelopmentSecrets(long, ["SIGNING_KEY_SECRET"])).not.toThrow();
  });

  it("refuses client secrets under 32 bytes in production (passwords are people's and keep their own rule)", () => {
    const short = parseConfig({
      NODE_ENV: "production",
      GATEWAY_CLIENT_SECRET: "eight-or-more",
      SEED_ADMIN_PASSWORD: "short-pw",
    });
    expect(() => refuseDevelopmentSecrets(short, ["GATEWAY_CLIENT_SECRET", "SEED_ADMIN_PASSWORD"])).toThrow(
      /^invalid configuration: NODE_ENV=production with GATEWAY_CLIENT_SECRET shorter than 32 bytes: set random values of at least 32 bytes/,
    );
    const long = parseConfig({
      NODE_ENV: "production",
      GATEWAY_CLIENT_SECRET: "x".repeat(32),
      SEED_ADMIN_PASSWORD: "short-pw",
    });
    expect(() =>
      refuseDevelopmentSecrets(long, ["GATEWAY_CLIENT_SECRET", "SEED_ADMIN_PASSWORD"]),
    ).not.toThrow();
    // Outside production a short development secret is fine (tests, local runs).
    expect(() =>
      refuseDevelopmentSecrets(parseConfig({ GATEWAY_CLIENT_SECRET: "eight-or-more" }), [
        "GATEWAY_CLIENT_SECRET",
      ]),
    ).not.toThrow();
  });

  it("loadConfig exits with code 2 and one line when production runs on a development secret", () => {
    const run = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "-e",
        "import('./services/kit/config/config.ts').then(m => m.loadConfig({ secrets: ['GATEWAY_CLIENT_SECRET'] }))",
      ],
      { env: { ...minimalEnv(), NODE_ENV: "production" }, encoding: "utf8" },
    );
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split("\n")).toEqual([
      "invalid configuration: NODE_ENV=production with development defaults for GATEWAY_CLIENT_SECRET: set real values",
    ]);
  });

  it("loadConfig prints one clear line and exits with code 2 on bad config", () => {
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", "-e", "import('./services/kit/config/config.ts').then(m => m.loadConfig())"],
      { env: { ...minimalEnv(), MCP_PORT: "99999" }, encoding: "utf8" },
    );
    expect(run.status).toBe(2);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^invalid configuration: MCP_PORT: /);
  });
});

/** Only what running node needs: the product's settings the shell exports must not leak in (hermetic). */
function minimalEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" };
}
