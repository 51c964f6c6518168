import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVICE_IDS } from "#kit/auth/index.js";
import { testAgentDirectory } from "./testing/test-agents.js";
import {
  startTestIdentity,
  TEST_GATEWAY_ID,
  TEST_MCP_RESOURCE,
  type TestIdentity,
} from "./testing/test-identity.js";
import {
  type ClientAuth,
  clientCredentialsForm,
  exchangeForm,
  postTokenRequest,
} from "./testing/token-request.js";

/**
 * One party's failures never make another party's right credentials fail,
 * while guessing stays bounded. Windows here are long (nothing ages out while a loaded machine
 * hashes passwords); recovery after the window is tested in login-throttling.test.ts.
 */
let behindProxy: TestIdentity;
let onLoopback: TestIdentity;

beforeAll(async () => {
  [behindProxy, onLoopback] = await Promise.all([
    startTestIdentity({
      LOGIN_THROTTLE_WINDOW: "10m",
      LOGIN_MAX_FAILURES_PER_EMAIL: "3",
      LOGIN_MAX_FAILURES_PER_ADDRESS: "20",
      TRUSTED_PROXY_HOPS: "1",
    }),
    // The defaults (20 failures per address in 15 min) and no proxy: every caller here, the real
    // gateway included, is 127.0.0.1 — the gateway's own address.
    startTestIdentity({}, { agentDirectory: testAgentDirectory() }),
  ]);
});
afterAll(async () => {
  await Promise.all([behindProxy?.dispose(), onLoopback?.dispose()]);
});

async function attempt(email: string, password: string, address: string): Promise<Code | "ok"> {
  try {
    await behindProxy.auth.login({ email, password }, { headers: { "x-forwarded-for": address } });
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

describe("failed logins can't lock the real user out", () => {
  it("an attacker who exhausted the email from three addresses doesn't stop the real user elsewhere: slowed, bounded, never refused", async () => {
    const email = "agent@company.com";
    for (const address of ["203.0.113.21", "203.0.113.22", "203.0.113.23"]) {
      for (let i = 0; i < 3; i++)
        expect(await attempt(email, `guess-${i}-password`, address)).toBe(Code.Unauthenticated);
      // The attacker's own pair is refused, even with the right password.
      expect(await attempt(email, behindProxy.passwords.agent, address)).toBe(Code.ResourceExhausted);
    }
    // The real user, from home: the right password gets in after the email's delay (9 failures,
    // 6 past the threshold of 3: the delay is at its 2 s bound), the same delay anyone gets.
    const started = Date.now();
    expect(await attempt(email, behindProxy.passwords.agent, "192.0.2.200")).toBe("ok");
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(1_950);
    expect(took).toBeLessThan(2_000 + 5_000); // the bound plus one password hash on a loaded machine
  });

  it("bounds a concurrent burst of guesses from one address by the pair limit (the rest wait for a place, then are refused unhashed)", async () => {
    const email = "viewer@company.com";
    const burst = await Promise.all(
      Array.from({ length: 12 }, (_, i) => attempt(email, `guess-${i}-password`, "192.0.2.7")),
    );
    expect(burst.filter((c) => c === Code.Unauthenticated)).toHaveLength(3);
    expect(burst.filter((c) => c === Code.ResourceExhausted)).toHaveLength(9);
    // The real user, elsewhere, is not refused.
    expect(await attempt(email, behindProxy.passwords.viewer, "192.0.2.8")).toBe("ok");
  });
});

describe("failed client authentications can't lock the real gateway out", () => {
  it("after 20 failed client authentications from the gateway's own address, the real clients' right credentials all succeed", async () => {
    const chat = onLoopback;
    const gateway: ClientAuth = { basic: [TEST_GATEWAY_ID, chat.config.GATEWAY_CLIENT_SECRET] };
    const guess = (i: number) =>
      postTokenRequest(chat.url, clientCredentialsForm({ audience: SERVICE_IDS.identity }), {
        basic: [TEST_GATEWAY_ID, `guess-${i}-secret`],
      });
    for (let i = 0; i < 20; i++) expect((await guess(i)).status).toBe(401);

    // 3 fresh users' first turns: each needs the agent's service token and the gateway's exchange.
    for (const [email, password] of [
      ["admin@company.com", chat.passwords.admin],
      ["agent@company.com", chat.passwords.agent],
      ["viewer@company.com", chat.passwords.viewer],
    ] as const) {
      const user = (await chat.auth.login({ email, password })).tokens?.accessToken ?? "";
      const actor = await postTokenRequest(
        chat.url,
        clientCredentialsForm({ audience: SERVICE_IDS.gateway, agentId: "ticket-reader" }),
        { basic: [SERVICE_IDS.agent, chat.config.AGENT_CLIENT_SECRET] },
      );
      expect(actor.status, JSON.stringify(actor.body)).toBe(200);
      const started = Date.now();
      const exchanged = await postTokenRequest(
        chat.url,
        exchangeForm({
          subjectToken: user,
          resource: TEST_MCP_RESOURCE,
          actorToken: actor.body.access_token as string,
        }),
        gateway,
      );
      expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(200);
      expect(Date.now() - started).toBeLessThan(900); // not slowed either
    }
    // The MCP server's and the gateway's own service tokens too.
    const mcp = await postTokenRequest(chat.url, clientCredentialsForm({ audience: SERVICE_IDS.identity }), {
      basic: [SERVICE_IDS.mcpServer, chat.config.MCP_CLIENT_SECRET],
    });
    expect(mcp.status).toBe(200);
    expect(
      (await postTokenRequest(chat.url, clientCredentialsForm({ audience: SERVICE_IDS.identity }), gateway))
        .status,
    ).toBe(200);

    // Guessing goes on past the limit: each wrong secret is held ~1 s and answered 429.
    const started = Date.now();
    const held = await Promise.all([guess(20), guess(21), guess(22)]);
    expect(held.map((r) => r.status)).toEqual([429, 429, 429]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    for (const r of held) {
      expect(r.body.error).toBe("temporarily_unavailable");
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    }
  });
});
