import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { SessionAdminService } from "#gen/supportext/auth/v1/session_admin_pb.js";
import { sessionKeyPrefix } from "#services/mcp-gateway/gateway-service.js";
import { type HopProbes, hopProbes, type ProbeResult } from "../../testing/hop-probes.js";
import { startTestStack, type TestStack } from "../../testing/test-stack.js";

/**
 * Issue 9, deliverable 3: when a login session ends, every hop refuses its tokens — the user's
 * access token at identity, chat, agent and gateway, and an MCP token exchanged from it before at the MCP
 * server — pushed by the revocation feed, not learned by polling or by waiting for expiry. The
 * delays are printed; the test asserts only that each hop refuses (within a generous bound).
 */
let stack: TestStack;
let probes: HopProbes;
const HOPS = ["identity", "chat", "agent", "gateway", "mcp"] as const;

beforeAll(async () => {
  stack = await startTestStack({ LOG_LEVEL: "info" });
  probes = hopProbes(stack);
});
afterAll(async () => {
  await stack?.close();
});

/** Polls `probe` until it reports "revoked"; returns the ms it took, or throws after `boundMs`. */
async function untilRevoked(probe: () => Promise<ProbeResult>, boundMs = 10_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const result = await probe();
    const elapsed = performance.now() - started;
    if (result === "revoked") return elapsed;
    if (result !== "accepted") throw new Error(`refused for another reason: ${result}`);
    if (elapsed > boundMs)
      throw new Error(`still accepted ${Math.round(elapsed)} ms after the session ended`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function loggedInEverywhere(email: string, password: string) {
  const user = await stack.login(email, password);
  const mcpToken = await probes.mcpToken(user.accessToken);
  const before = {
    identity: await probes.identity(user.accessToken),
    chat: await probes.chat(user.accessToken),
    agent: await probes.agent(user.accessToken),
    gateway: await probes.gateway(user.accessToken),
    mcp: await probes.mcp(mcpToken),
  };
  expect(before).toEqual({
    identity: "accepted",
    chat: "accepted",
    agent: "accepted",
    gateway: "accepted",
    mcp: "accepted",
  });
  return { ...user, mcpToken };
}

async function delaysAfter(end: () => Promise<unknown>, user: { accessToken: string; mcpToken: string }) {
  await end();
  const [identity, chat, agent, gateway, mcp] = await Promise.all([
    untilRevoked(() => probes.identity(user.accessToken)),
    untilRevoked(() => probes.chat(user.accessToken)),
    untilRevoked(() => probes.agent(user.accessToken)),
    untilRevoked(() => probes.gateway(user.accessToken)),
    untilRevoked(() => probes.mcp(user.mcpToken)),
  ]);
  return { identity, chat, agent, gateway, mcp };
}

describe("revocation reaches every hop", () => {
  it("Logout: the access token and an MCP token exchanged before are refused at identity, chat, agent, gateway and MCP server", async () => {
    const auth = createClient(
      AuthService,
      createConnectTransport({ baseUrl: stack.identity.url, httpVersion: "2" }),
    );
    const user = await loggedInEverywhere("agent@company.com", stack.passwords.agent);
    const delays = await delaysAfter(() => auth.logout({ refreshToken: user.refreshToken }), user);
    console.log(
      `revocation delay after Logout (ms): ${HOPS.map((h) => `${h} ${delays[h].toFixed(1)}`).join(", ")}`,
    );
    // The gateway dropped the session's cached exchanged token and MCP session (both existed: the
    // gateway probe above made an exchange and opened a session for it).
    expect(stack.gateway.tokenSource.dropSession(user.sessionId)).toBe(0);
    expect(stack.gateway.pool.dropPrefix(sessionKeyPrefix(user.sessionId))).toBe(0);
  });

  it("refresh-token reuse and an administrator's revocation end the session the same way", async () => {
    const reused = await loggedInEverywhere("viewer@company.com", stack.passwords.viewer);
    await stack.refresh(reused.refreshToken);
    const reuseDelays = await delaysAfter(
      () => stack.refresh(reused.refreshToken).catch(() => undefined),
      reused,
    );
    console.log(
      `revocation delay after refresh-token reuse (ms): ${HOPS.map((h) => `${h} ${reuseDelays[h].toFixed(1)}`).join(", ")}`,
    );

    const admin = await stack.login("admin@company.com", stack.passwords.admin);
    const victim = await loggedInEverywhere("agent@company.com", stack.passwords.agent);
    const sessions = createClient(
      SessionAdminService,
      createConnectTransport({ baseUrl: stack.identity.url, httpVersion: "2" }),
    );
    const adminDelays = await delaysAfter(
      () =>
        sessions.revokeSession(
          { sessionId: victim.sessionId },
          { headers: { authorization: `Bearer ${admin.accessToken}` } },
        ),
      victim,
    );
    console.log(
      `revocation delay after an admin's RevokeSession (ms): ${HOPS.map((h) => `${h} ${adminDelays[h].toFixed(1)}`).join(", ")}`,
    );
    // Other sessions go on.
    expect(await probes.gateway(admin.accessToken)).toBe("accepted");
  });

  it("RFC 7009 revocation of the refresh token by its own client ends the grant at every hop too", async () => {
    const user = await loggedInEverywhere("viewer@company.com", stack.passwords.viewer);
    const delays = await delaysAfter(async () => {
      // AuthService.Login's grant belongs to the public first-party client (docs/identity.md, "One
      // issuer, one grant model"); it revokes at the provider's endpoint like any client does.
      const res = await fetch(new URL("/oauth2/revoke", stack.identity.url), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          token: user.refreshToken,
          token_type_hint: "refresh_token",
          client_id: "support-ext-login",
        }),
      });
      expect(res.status).toBe(200);
    }, user);
    console.log(
      `revocation delay after RFC 7009 revocation (ms): ${HOPS.map((h) => `${h} ${delays[h].toFixed(1)}`).join(", ")}`,
    );
    // The refresh token is dead as well.
    await expect(stack.refresh(user.refreshToken)).rejects.toThrow();
  });
});
