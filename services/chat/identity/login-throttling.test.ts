import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestChat, TEST_GATEWAY_ID, TEST_MCP_RESOURCE, type TestChat } from "../testing/test-chat.js";
import { exchangeForm, postTokenRequest } from "../testing/token-request.js";

let chat: TestChat;

beforeAll(async () => {
  chat = await startTestChat({
    LOGIN_THROTTLE_WINDOW: "2s",
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
  it("throttles one email after repeated failures (even the right password), then recovers", async () => {
    const email = "agent@company.com";
    for (let i = 0; i < 3; i++)
      expect(await attempt(email, "wrong-password", `198.51.100.${i}`)).toBe(Code.Unauthenticated);
    expect(await attempt(email, chat.passwords.agent, "198.51.100.50")).toBe(Code.ResourceExhausted);
    // Other accounts are not affected.
    expect(await attempt("viewer@company.com", chat.passwords.viewer, "198.51.100.51")).toBe("ok");

    const err = await chat.auth
      .login({ email, password: chat.passwords.agent }, { headers: { "x-forwarded-for": "198.51.100.52" } })
      .catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).rawMessage).toMatch(/too many failed login attempts; try again in \d+ s/);

    await sleep(2_100);
    expect(await attempt(email, chat.passwords.agent, "198.51.100.53")).toBe("ok");
  });

  it("throttles unknown emails exactly like known ones (no account enumeration)", async () => {
    for (let i = 0; i < 3; i++)
      expect(await attempt("ghost@company.com", "x-password", `198.51.101.${i}`)).toBe(Code.Unauthenticated);
    expect(await attempt("ghost@company.com", "x-password", "198.51.101.9")).toBe(Code.ResourceExhausted);
  });

  it("throttles one client address spraying many emails, not other addresses, then recovers", async () => {
    await sleep(2_100); // start from an empty window
    const sprayer = "203.0.113.7";
    for (let i = 0; i < 5; i++)
      expect(await attempt(`user${i}@company.com`, "guess-password", sprayer)).toBe(Code.Unauthenticated);
    expect(await attempt("admin@company.com", chat.passwords.admin, sprayer)).toBe(Code.ResourceExhausted);
    // A client that forges X-Forwarded-For entries left of our proxy's still lands on its real address.
    expect(await attempt("admin@company.com", chat.passwords.admin, `10.9.9.9, ${sprayer}`)).toBe(
      Code.ResourceExhausted,
    );
    expect(await attempt("admin@company.com", chat.passwords.admin, "203.0.113.8")).toBe("ok");
    await sleep(2_100);
    expect(await attempt("admin@company.com", chat.passwords.admin, sprayer)).toBe("ok");
  });

  it("bounds a concurrent burst of guesses by the limit (only attempts finishing under it get an answer)", async () => {
    await sleep(2_100); // start from an empty window
    const email = "viewer@company.com";
    const burst = await Promise.all(
      Array.from({ length: 12 }, (_, i) => attempt(email, `guess-${i}-password`, `192.0.2.${i}`)),
    );
    expect(burst.filter((c) => c === Code.Unauthenticated)).toHaveLength(3);
    expect(burst.filter((c) => c === Code.ResourceExhausted)).toHaveLength(9);
    await sleep(2_100);
    expect(await attempt(email, chat.passwords.viewer, "192.0.2.99")).toBe("ok");
  });

  it("throttles guessing of the gateway's client secret per address at the token endpoint, then recovers", async () => {
    const login = await chat.auth.login(
      { email: "viewer@company.com", password: chat.passwords.viewer },
      { headers: { "x-forwarded-for": "192.0.2.90" } },
    );
    const form = exchangeForm({ subjectToken: login.tokens?.accessToken ?? "", resource: TEST_MCP_RESOURCE });
    const from = (address: string, secret: string) =>
      postTokenRequest(chat.url, form, { basic: [TEST_GATEWAY_ID, secret] }, { headers: { "x-forwarded-for": address } });
    for (let i = 0; i < 5; i++) expect((await from("192.0.2.91", `guess-${i}`)).status).toBe(401);
    // Past the limit even the right secret is refused from that address, before it is compared.
    const blocked = await from("192.0.2.91", chat.config.GATEWAY_CLIENT_SECRET);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error).toBe("temporarily_unavailable");
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    // Another address is not affected.
    expect((await from("192.0.2.92", chat.config.GATEWAY_CLIENT_SECRET)).status).toBe(200);
    await sleep(2_100);
    expect((await from("192.0.2.91", chat.config.GATEWAY_CLIENT_SECRET)).status).toBe(200);
  });
});
