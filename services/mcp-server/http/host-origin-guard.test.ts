import { describe, expect, it } from "vitest";
import { createHostOriginGuard, defaultAllowLists } from "./host-origin-guard.js";

describe("Host/Origin allow-lists", () => {
  it("by default allow the resource's host and origin plus loopback names of the bound port", () => {
    const lists = defaultAllowLists(
      new URL("http://127.0.0.1:8083/mcp"),
      { host: "127.0.0.1", port: 8083 },
      { hosts: [], origins: [] },
    );
    const guard = createHostOriginGuard(lists.hosts, lists.origins);
    expect(guard.checkHost("127.0.0.1:8083")).toBeUndefined();
    expect(guard.checkHost("localhost:8083")).toBeUndefined();
    expect(guard.checkHost("LOCALHOST:8083")).toBeUndefined();
    expect(guard.checkHost("attacker.example:8083")).toMatch(/not allowed/);
    expect(guard.checkHost(undefined)).toMatch(/no Host/);
    expect(guard.checkOrigin(undefined)).toBeUndefined();
    expect(guard.checkOrigin("http://127.0.0.1:8083")).toBeUndefined();
    expect(guard.checkOrigin("http://attacker.example")).toMatch(/not allowed/);
    expect(guard.checkOrigin("null")).toMatch(/not allowed/);
  });

  it("with configured hosts, allows those and the public resource host only", () => {
    const lists = defaultAllowLists(
      new URL("https://mcp.example.com/mcp"),
      { host: "0.0.0.0", port: 8083 },
      { hosts: ["mcp.internal:8083"], origins: ["chrome-extension://abcdef"] },
    );
    const guard = createHostOriginGuard(lists.hosts, lists.origins);
    expect(guard.checkHost("mcp.example.com")).toBeUndefined();
    expect(guard.checkHost("mcp.internal:8083")).toBeUndefined();
    expect(guard.checkHost("127.0.0.1:8083")).toMatch(/not allowed/);
    expect(guard.checkOrigin("https://mcp.example.com")).toBeUndefined();
    expect(guard.checkOrigin("chrome-extension://abcdef")).toBeUndefined();
  });

  it("'*' disables the Host check (behind a proxy that validates it)", () => {
    expect(createHostOriginGuard(["*"], []).checkHost("anything:1")).toBeUndefined();
  });
});
