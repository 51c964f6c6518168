import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Principal } from "#kit/auth/index.js";
import { withDeadline } from "../session/call-deadline.js";
import { createExchangeTokenSource, type TokenSubject } from "./mcp-token-source.js";
import { createTokenExchangeClient } from "./token-exchange-client.js";

/**
 * The exchange token source against a token endpoint over real HTTP that answers as an RFC 8693
 * endpoint does (RFC 6749 §5.1 JSON), each answer after the delay the test queues for it: one exchange
 * per key shared by concurrent callers, a warm call that asks nothing, and a shared exchange that ends
 * at its starter's bound while a caller that joined it with a later deadline asks again.
 */
let server: http.Server;
let endpoint: string;
/** Delays (ms) of the next answers, in order; an answer with none queued comes at once. */
let delays: number[] = [];
let requests = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests++;
    const delay = delays.shift() ?? 0;
    req.resume();
    req.once("end", () =>
      setTimeout(() => {
        if (res.destroyed) return;
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({
            access_token: `exchanged-${requests}`,
            issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
            token_type: "Bearer",
            expires_in: 300,
            scope: "tickets:read",
          }),
        );
      }, delay),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  delays = [];
  requests = 0;
});

const source = (fallbackTimeoutMs: number) =>
  createExchangeTokenSource({
    client: createTokenExchangeClient({
      tokenEndpoint: endpoint,
      client: { clientId: "mcp-gateway", clientSecret: "s" },
    }),
    resource: "http://127.0.0.1:8083/mcp",
    fallbackTimeoutMs,
  });

const subject = (sessionId = "sid-1"): TokenSubject => ({
  principal: {
    userId: "u-1",
    email: "u@company.com",
    roles: ["agent"],
    scopes: ["tickets:read"],
    sessionId,
    tokenId: "jti-1",
    expiresAt: Math.floor(Date.now() / 1000) + 300,
    anonymous: false,
  } satisfies Principal,
  credential: "users-token",
  agentId: "support-assistant",
  actorToken: "agents-credential",
  scopes: ["tickets:read"],
});

describe("the exchange token source", () => {
  it("concurrent first calls for one key share one exchange; a warm call asks nothing", async () => {
    const tokens = source(5_000);
    delays = [100];
    const first = await Promise.all([1, 2, 3].map(() => tokens.tokenFor(subject())));
    expect(new Set(first)).toEqual(new Set(["exchanged-1"]));
    expect(await tokens.tokenFor(subject())).toBe("exchanged-1");
    expect(requests).toBe(1);
    expect(tokens.exchanges).toBe(1);
  });

  it("a caller that joined a shared exchange with a later deadline asks again when the starter's bound ends it", async () => {
    const tokens = source(200);
    delays = [2_000, 0];
    // The starter's deadline (300 ms) bounds the shared exchange: its answer would take 2 s.
    const starter = withDeadline(Date.now() + 300, () => tokens.tokenFor(subject("sid-2")));
    await new Promise((r) => setTimeout(r, 50));
    const joiner = withDeadline(Date.now() + 10_000, () => tokens.tokenFor(subject("sid-2")));
    await expect(starter).rejects.toMatchObject({ error: "timed_out" });
    expect(await joiner).toBe("exchanged-2");
    expect(requests).toBe(2);
  });

  it("a caller whose own deadline is over, or that has none, does not ask again", async () => {
    const tokens = source(200);
    delays = [2_000, 0];
    await expect(tokens.tokenFor(subject("sid-3"))).rejects.toMatchObject({ error: "timed_out" });
    expect(requests).toBe(1);
    delays = [2_000, 0];
    await expect(
      withDeadline(Date.now() + 300, () => tokens.tokenFor(subject("sid-3"))),
    ).rejects.toMatchObject({
      error: "timed_out",
    });
    expect(requests).toBe(2);
  });
});
