import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT, type Harness, startHarness } from "./testing/harness.js";

/**
 * The MCP server refuses the MCP tokens of an ended login session (same `sid`) as soon as the
 * revocation feed says so, and refuses every token once the feed has been gone longer than its
 * bound — fail closed, visible in /readyz while /healthz (the process lives) stays 200
 * (docs/architecture.md, "Revocation", "Health for orchestrators").
 */
let h: Harness;
const listTools = { jsonrpc: "2.0", id: 1, method: "tools/list", params: {} };
const protocol = { "mcp-protocol-version": "2025-06-18" };

beforeAll(async () => {
  h = await startHarness({ env: { REVOCATION_HEARTBEAT: "1s", REVOCATION_STALENESS_LIMIT: "3s" } });
});
afterAll(async () => {
  await h?.close();
});

async function until(check: () => Promise<boolean>, boundMs: number): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > boundMs) throw new Error(`not within ${boundMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - started;
}

describe("revocation at the MCP server", () => {
  it("a revoked session's token is refused with 401 revoked; other sessions go on", async () => {
    const sid = crypto.randomUUID();
    const token = await h.token(AGENT, {
      sid,
      act: { sub: "mcp-gateway", act: { sub: "agent", agent: "support-assistant" } },
    });
    const other = await h.token(AGENT);
    const post = (t: string) => h.post(listTools, { authorization: `Bearer ${t}`, ...protocol });
    const first = await post(token);
    expect(first.status, await first.clone().text()).toBe(200);
    h.feed.revoke(sid);
    const delay = await until(async () => (await post(token)).status === 401, 5_000);
    console.log(`MCP server refused the revoked session ${delay.toFixed(1)} ms after the feed pushed it`);
    const refused = await post(token);
    expect(refused.headers.get("www-authenticate")).toMatch(/error="invalid_token".*revoked/);
    expect((await post(other)).status).toBe(200);
    expect(h.logs.records().some((l) => l.msg === "Authentication failed: revoked")).toBe(true);
  });

  it("fails closed once the feed has been gone past its bound, and recovers when it is back", async () => {
    const token = await h.token(AGENT);
    const post = () => h.post(listTools, { authorization: `Bearer ${token}`, ...protocol });
    await h.feed.stop();
    await until(async () => (await post()).status === 503, 15_000);
    const ready = await fetch(new URL("/readyz", h.server.url));
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: "unavailable", not_ready: ["revocation-feed"] });
    expect((await fetch(new URL("/healthz", h.server.url))).status).toBe(200);
    expect(await (await post()).json()).toMatchObject({ error: expect.anything() });
    await h.feed.start();
    await until(async () => (await post()).status === 200, 15_000);
    expect((await fetch(new URL("/readyz", h.server.url))).status).toBe(200);
  });
});
