import { describe, expect, it } from "vitest";
import { parseConfig } from "#kit/config/index.js";
import { renderBanner } from "./banner.js";

const ports = {
  CHAT_PORT: "9180",
  AGENT_PORT: "9181",
  GATEWAY_PORT: "9182",
  MCP_PORT: "9183",
  IDENTITY_PORT: "9184",
};

describe("the npm start banner", () => {
  it("lists the five URLs, the seeded logins with their development passwords, and a login command", () => {
    const banner = renderBanner(parseConfig({ NODE_ENV: "development", ...ports }), "127.0.0.1", 12_345);
    for (const port of Object.values(ports)) expect(banner).toContain(`http://127.0.0.1:${port}`);
    expect(banner).toMatch(/admin@company\.com\s+admin-dev-password/);
    expect(banner).toMatch(/viewer@company\.com\s+viewer-dev-password/);
    // README, "Send your first message": the same command, naming the address when it is not the default.
    expect(banner).toContain(`eval "$(npm run -s login -- --url http://127.0.0.1:9184)"`);
    expect(banner).toContain("12.3 s");
  });

  it("prints the README's login command as it is when the identity service is at its default address", () => {
    const banner = renderBanner(parseConfig({ NODE_ENV: "development" }), "127.0.0.1", 1_000);
    expect(banner).toContain(`  eval "$(npm run -s login)"\n`);
  });

  it("never prints a password set through the environment: it names the setting instead", () => {
    const config = parseConfig({
      NODE_ENV: "development",
      ...ports,
      SEED_ADMIN_PASSWORD: "a-real-secret-1",
      SEED_AGENT_PASSWORD: "another-secret-2",
    });
    const banner = renderBanner(config, "127.0.0.1", 1_000);
    expect(banner).not.toContain("a-real-secret-1");
    expect(banner).not.toContain("another-secret-2");
    expect(banner).toMatch(/admin@company\.com\s+\(from SEED_ADMIN_PASSWORD\)/);
    expect(banner).toMatch(/viewer@company\.com\s+viewer-dev-password/);
    // The login command reads it from the shell, as npm start did.
    expect(banner).toContain(`eval "$(npm run -s login -- --url http://127.0.0.1:9184)"`);
  });
});
