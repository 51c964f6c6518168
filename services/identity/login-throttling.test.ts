import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startTestIdentity,
  TEST_GATEWAY_ID,
  TEST_MCP_RESOURCE,
  type TestIdentity,
} from "./testing/test-identity.js";
import { exchangeForm, postTokenRequest } from "./testing/token-request.js";

let chat: TestIdentity;

beforeAll(async () => {
  chat = await startTestIdentity({
    LOGIN_THROTTLE_WINDOW: "4s",
    LOGIN_MAX_FAILURES_PER_EMAIL: "3",
    LOGIN_MAX_FAILURES_PER_ADDRESS: "5",
    // One trusted proxy: the address is the last X-Forwarded-For entry.
    TRUSTED_PROXY_HOPS: "1",
  });
});
afterAll(() => chat?.dispose());

async function attempt(email: string, password: string, address: string): Promise<Code | "ok"> {
  try {
    await chat.auth.login({ email, password }, { headers: { "x-forwarded-for": address } });
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("login throttling over real HTTP", () => {
  it("an attempt with no usable address (no X-Forwarded-For behind a trusted proxy) is logged: it shares one bucket; a registration too", async () => {
    const warned = () =>
      chat.logs.records().filter((r) => String(r.msg).includes("share one throttling bucket")).length;
    const before = warned();
    await chat.auth.login({ email: "viewer@company.com", password: chat.passwords.viewer });
    expect(warned()).toBe(before + 1);
    expect(await attempt("viewer@company.com", chat.passwords.viewer, "198.51.100.77")).toBe("ok");
    expect(warned()).toBe(before + 1);
    // The registration quota's bucket too, with its own warning.
    const registered = await fetch(`${chat.url}/oauth2/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ redirect_uris: ["https://app.example/cb"], token_endpoint_auth_method: "none" }),
    });
    expect(registered.status).toBe(201);
    expect(
      chat.logs
        .records()
        .filter((r) =>
          String(r.msg).startsWith("client registrations and failed client authentications without"),
        ),
    ).toHaveLength(1);
  });

  it("refuses one (email, address) pair after repeated failures (even the right password), then recovers", async () => {
    const email = "agent@company.com";
    const attacker = "198.51.100.1";
    for (let i = 0; i < 3; i++)
      expect(await attempt(email, "wrong-password", attacker)).toBe(Code.Unauthenticated);
    expect(await attempt(email, chat.passwords.agent, attacker)).toBe(Code.ResourceExhausted);
    // Other accounts from elsewhere are not affected.
    expect(await attempt("viewer@company.com", chat.passwords.viewer, "198.51.100.51")).toBe("ok");

    const err = await chat.auth
      .login({ email, password: chat.passwords.agent }, { headers: { "x-forwarded-for": attacker } })
      .catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).rawMessage).toMatch(/too many failed login attempts; try again in \d+ s/);

    await sleep(4_100);
    expect(await attempt(email, chat.passwords.agent, attacker)).toBe("ok");
  });

  it("refuses unknown emails exactly like known ones (no account enumeration)", async () => {
    for (let i = 0; i < 3; i++)
      expect(await attempt("ghost@company.com", "x-password", "198.51.101.1")).toBe(Code.Unauthenticated);
    expect(await attempt("ghost@company.com", "x-password", "198.51.101.1")).toBe(Code.ResourceExhausted);
  });

  it("throttles one client address spraying many emails, not other addresses, then recovers", async () => {
    await sleep(4_100); // start from an empty window
    const sprayer = "203.0.113.7";
    for (let i = 0; i < 5; i++)
      expect(await attempt(`user${i}@company.com`, "guess-password", sprayer)).toBe(Code.Unauthenticated);
    expect(await attempt("admin@company.com", chat.passwords.admin, sprayer)).toBe(Code.ResourceExhausted);
    // A client that forges X-Forwarded-For entries left of our proxy's still lands on its real address.
    expect(await attempt("admin@company.com", chat.passwords.admin, `10.9.9.9, ${sprayer}`)).toBe(
      Code.ResourceExhausted,
    );
    expect(await attempt("admin@company.com", chat.passwords.admin, "203.0.113.8")).toBe("ok");
    await sleep(4_100);
    expect(await attempt("admin@company.com", chat.passwords.admin, sprayer)).toBe("ok");
  });

  it("never refuses the gateway's right secret from an address guessing it; failures past the limit are held and 429", async () => {
    await sleep(4_100); // start from an empty window
    const login = await chat.auth.login(
      { email: "viewer@company.com", password: chat.passwords.viewer },
      { headers: { "x-forwarded-for": "192.0.2.90" } },
    );
    const form = exchangeForm({ subjectToken: login.tokens?.accessToken ?? "", resource: TEST_MCP_RESOURCE });
    const from = (address: string, secret: string) =>
      postTokenRequest(
        chat.url,
        form,
        { basic: [TEST_GATEWAY_ID, secret] },
        { headers: { "x-forwarded-for": address } },
      );
    for (let i = 0; i < 5; i++) expect((await from("192.0.2.91", `guess-${i}`)).status).toBe(401);
    // Past the limit a wrong secret is held ~1 s, then answered 429 with Retry-After …
    const started = Date.now();
    const blocked = await from("192.0.2.91", "guess-5");
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error).toBe("temporarily_unavailable");
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    // … while the right one, from that very address, is served at once.
    const quick = Date.now();
    expect((await from("192.0.2.91", chat.config.GATEWAY_CLIENT_SECRET)).status).toBe(200);
    expect(Date.now() - quick).toBeLessThan(900);
    expect((await from("192.0.2.92", chat.config.GATEWAY_CLIENT_SECRET)).status).toBe(200);
    await sleep(4_100);
    expect((await from("192.0.2.91", "guess-6")).status).toBe(401);
  });
});
