import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolCallStatus } from "#gen/supportext/agent/v1/agent_pb.js";
import { ChatService } from "#gen/supportext/chat/v1/chat_pb.js";
import { createRemovedKeys, SERVICE_IDS } from "#kit/auth/index.js";
import { configuredClientCredentials, watchRevocations } from "#kit/service/index.js";
import { captureLogs } from "#kit/testing/log-capture.js";
import { runKeyCommand } from "#services/identity/keys/key-commands.js";
import { type HopProbes, hopProbes, type ProbeResult } from "../../testing/hop-probes.js";
import { startTestStack, type TestStack } from "../../testing/test-stack.js";

/**
 * A signing key removed from the identity provider (`npm run rotate-keys -- --remove`, what an
 * operator does when the key may have leaked) is refused at every hop at once, pushed by the
 * revocation feed (docs/architecture.md, "Revocation") — not when each service's cached JWKS next
 * expires, and not only for tokens it has not seen: a token that verified before, and one forged
 * with the key for ten years, are refused alike. The services carry on without anyone's help: their
 * own credentials and the gateway's exchanged tokens signed by the key are replaced, and a user
 * whose token was refused refreshes and goes on. The delays are printed, never asserted on.
 */
let stack: TestStack;
const HOPS = ["identity", "chat", "agent", "gateway", "mcp"] as const;

beforeAll(async () => {
  stack = await startTestStack({ LOG_LEVEL: "info" });
});
afterAll(async () => {
  await stack?.close();
});

const kidOf = (token: string) => jose.decodeProtectedHeader(token).kid ?? "";

/**
 * How a hop refuses the user's token of a removed key: as removed (`key_removed`), or — the identity
 * provider, once its keys are reloaded — as a key it does not have (`unknown_key`). The probe's own
 * service credential is never what is refused (see `after` below).
 */
const REFUSED_FOR_ITS_KEY =
  /^refused: (?:Unauthenticated |HTTP 401 \{"error":"invalid_token","error_description":")(?:key_removed|unknown_key)\b/;

/** Polls `probe` until the hop refuses the token for its removed key; when that was, on `performance.now()`. */
async function untilKeyRemoved(probe: () => Promise<ProbeResult>, boundMs = 10_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const result = await probe();
    if (REFUSED_FOR_ITS_KEY.test(result)) return performance.now();
    if (result !== "accepted") throw new Error(`refused for another reason: ${result}`);
    if (performance.now() - started > boundMs)
      throw new Error(`still accepted ${boundMs} ms after the removal`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Signs `claims` with a stolen private key, as whoever holds it could. */
async function forge(stolen: jose.JWK, claims: jose.JWTPayload): Promise<string> {
  const key = await jose.importJWK(stolen, "ES256");
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid: stolen.kid ?? "", typ: "at+jwt" })
    .setIssuer(stack.config.AUTH_ISSUER)
    .setIssuedAt(now)
    .setExpirationTime(now + 10 * 365 * 86_400)
    .setJti(crypto.randomUUID())
    .sign(key);
}

describe("a removed signing key", () => {
  it("is refused at identity, chat, agent, gateway and MCP server — tokens seen before and tokens forged with it — and the chain carries on with the next key", async () => {
    const probes: HopProbes = hopProbes(stack);
    const user = await stack.login("agent@company.com", stack.passwords.agent);
    const admin = await stack.login("admin@company.com", stack.passwords.admin);
    const mcpToken = await probes.mcpToken(user.accessToken);
    const oldKid = kidOf(user.accessToken);
    expect(kidOf(mcpToken)).toBe(oldKid);

    // What someone who stole the key could do: an administrator's token and an MCP token for ten years.
    const stolen = stack.identity.identity.keyRing.privateJwks().find((k) => k.kid === oldKid);
    if (!stolen) throw new Error("the signing key is not in the key ring");
    const adminClaims = jose.decodeJwt(admin.accessToken);
    const forged = await forge(stolen, { ...adminClaims, sid: crypto.randomUUID() });
    const forgedMcp = await forge(stolen, {
      ...jose.decodeJwt(mcpToken),
      sub: admin.userId,
      scope: "tickets:read tickets:write",
    });
    const tokens = { user: user.accessToken, forged };
    for (const [name, token] of Object.entries(tokens)) {
      const seen = {
        identity: await probes.identity(token),
        chat: await probes.chat(token),
        agent: await probes.agent(token),
        gateway: await probes.gateway(token),
      };
      expect(seen, name).toEqual({
        identity: "accepted",
        chat: "accepted",
        agent: "accepted",
        gateway: "accepted",
      });
    }
    expect([await probes.mcp(mcpToken), await probes.mcp(forgedMcp)]).toEqual(["accepted", "accepted"]);

    // The operator adds a key that signs at once and removes the old one, on the identity database
    // as `npm run rotate-keys` does; the running identity service hears of it by NOTIFY.
    const timing = stack.config;
    const added = await runKeyCommand(stack.identity.database, { kind: "rotate", now: true }, timing);
    expect(added.join("\n")).toMatch(/added key/);
    const removedAt = performance.now();
    const removed = await runKeyCommand(stack.identity.database, { kind: "remove", kid: oldKid }, timing);
    expect(removed[0]).toBe(`removed key ${oldKid}: tokens it signed no longer verify`);

    // Once the identity provider signs with the new key, new probes: the first ones hold the test's
    // own service credentials, signed by the old key, and nothing in this test replaces them.
    const identityAt = await untilKeyRemoved(() => probes.identity(user.accessToken));
    const after = hopProbes(stack);
    const [chatAt, agentAt, gatewayAt, mcpAt] = await Promise.all([
      untilKeyRemoved(() => after.chat(user.accessToken)),
      untilKeyRemoved(() => after.agent(user.accessToken)),
      untilKeyRemoved(() => after.gateway(user.accessToken)),
      untilKeyRemoved(() => after.mcp(mcpToken)),
    ]);
    const delays = { identity: identityAt, chat: chatAt, agent: agentAt, gateway: gatewayAt, mcp: mcpAt };
    console.log(
      `key removal → its tokens refused (ms after the removal command returned): ${HOPS.map((h) => `${h} ${(delays[h] - removedAt).toFixed(1)}`).join(", ")}`,
    );
    for (const hop of ["identity", "chat", "agent", "gateway"] as const) {
      expect(await after[hop](forged), `forged token at ${hop}`).toMatch(
        /^refused: Unauthenticated key_removed/,
      );
    }
    expect(await after.mcp(forgedMcp)).toMatch(REFUSED_FOR_ITS_KEY);

    // The user refreshes (same login session, the new key) and a whole turn goes through: chat's
    // credential for the agent, the agent's for the gateway, the gateway's exchanged MCP token for
    // this session — each cached from before and signed by the old key — are replaced, not sent.
    const refreshed = await stack.refresh(user.refreshToken);
    expect(kidOf(refreshed.accessToken)).not.toBe(oldKid);
    const chat = createClient(ChatService, createGrpcTransport({ baseUrl: stack.chat.url }));
    const bearer = { headers: { authorization: `Bearer ${refreshed.accessToken}` } };
    const { thread } = await chat.createThread({ agentId: "support-assistant" }, bearer);
    const turn = await chat.sendMessage({ threadId: thread?.id ?? "", content: "list tickets" }, bearer);
    const calls = turn.assistantMessage?.toolCalls ?? [];
    expect(calls.map((c) => [c.name, c.status])).toEqual([["list_tickets", ToolCallStatus.SUCCEEDED]]);
    expect(await after.mcp(await after.mcpToken(refreshed.accessToken))).toBe("accepted");
  });

  it("a service whose feed stream was down during the removal gets back on the feed: its refused credential is replaced, and it hears the removal", async () => {
    const logs = captureLogs("feed-down", "info");
    // A service's own parts, wired as startServiceAuth wires them.
    const removedKeys = createRemovedKeys();
    const credentials = configuredClientCredentials(stack.config, SERVICE_IDS.chat, { removedKeys });
    let watcher = watchRevocations(stack.config, credentials, logs.logger, removedKeys);
    expect(await watcher.ready(10_000)).toBe(true);
    const oldKid = kidOf(await credentials.tokenFor(SERVICE_IDS.identity));

    await watcher.close(); // the stream is down while the operator replaces the key
    await runKeyCommand(stack.identity.database, { kind: "rotate", now: true }, stack.config);
    await runKeyCommand(stack.identity.database, { kind: "remove", kid: oldKid }, stack.config);
    const probes = hopProbes(stack);
    const user = await stack.login("viewer@company.com", stack.passwords.viewer);
    expect(kidOf(user.accessToken)).not.toBe(oldKid); // the identity provider signs with the new key

    // It resubscribes with the credential it holds, signed by the removed key: refused, replaced, heard.
    watcher = watchRevocations(stack.config, credentials, logs.logger, removedKeys);
    try {
      expect(await watcher.ready(30_000)).toBe(true);
      expect(removedKeys.has(oldKid)).toBe(true);
      expect(kidOf(await credentials.tokenFor(SERVICE_IDS.identity))).not.toBe(oldKid);
      expect(await probes.chat(user.accessToken)).toBe("accepted");
    } finally {
      await watcher.close();
    }
  });
});
