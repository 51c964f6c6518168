import { ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { loginThroughPage } from "#services/identity/oauth/testing/login-browser.js";
import { startTestIdentity, type TestIdentity } from "#services/identity/testing/test-identity.js";
import type { KeyValueStore } from "./src/key-value-store.js";
import { type AuthorizationServer, discoverAuthorizationServer, EXTENSION_CLIENT_ID } from "./src/oauth.js";
import { SessionEndedError } from "./src/refusals.js";
import { REFRESH_MARGIN_MS, Session } from "./src/session.js";

/**
 * The popup's session logic (src/session.ts) against a real identity service whose access tokens
 * live 2 s with no leeway, so "expired" is a real refusal of the server: sign-in by the
 * authorization code flow with PKCE at the extension's redirect URI (the person's part — the
 * identity service's page — is played over HTTP here; extension.test.ts does it in Chromium),
 * token requests and revocation over fetch, WhoAmI on connect-web. The session's clock is the only
 * thing set: to tell it a token is far from, or near, expiry.
 */

const EXTENSION_REDIRECT = "https://acokindkkielecaefpadkffcmdniiddb.chromiumapp.org/";
let chat: TestIdentity;
let server: AuthorizationServer;
const calls: string[] = [];
const counting: Interceptor = (next) => (req) => {
  calls.push(req.method.name);
  return next(req);
};
const realFetch = globalThis.fetch;

beforeAll(async () => {
  chat = await startTestIdentity({ ACCESS_TOKEN_TTL: "2s", CLOCK_TOLERANCE: "0s" });
  server = await discoverAuthorizationServer(chat.url);
  // Token requests are the session's own fetches: counted by grant type, beside the RPCs.
  globalThis.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url === server.tokenEndpoint && init?.body instanceof URLSearchParams) {
      calls.push(`token:${init.body.get("grant_type")}`);
    }
    return realFetch(input, init);
  };
}, 60_000);
afterAll(async () => {
  globalThis.fetch = realFetch;
  await chat?.dispose();
});

/** chrome.storage's part the session uses, over a Map (what the browser test checks for real). */
function mapStore(): KeyValueStore & { readonly map: Map<string, unknown> } {
  const map = new Map<string, unknown>();
  return {
    map,
    get: async <T>(key: string) => structuredClone(map.get(key)) as T | undefined,
    set: async (key, value) => void map.set(key, structuredClone(value)),
    remove: async (key) => void map.delete(key),
  };
}

function newSession(now: () => number) {
  const transport = createConnectTransport({ baseUrl: chat.url, interceptors: [counting] });
  const persistent = mapStore();
  let user = { email: "", password: "" };
  const session = new Session({
    auth: createClient(AuthService, transport),
    oauth: {
      server,
      clientId: EXTENSION_CLIENT_ID,
      redirectUri: EXTENSION_REDIRECT,
      resource: chat.config.CHAT_URL,
    },
    // The person at the identity service's page (extension.test.ts does it in Chromium).
    authorize: async (url) => (await loginThroughPage(url, user)).href,
    serverUrl: chat.url,
    persistent,
    memory: mapStore(),
    now,
  });
  const whoAmI = (headers: Record<string, string>) =>
    createClient(AuthService, transport).whoAmI({}, { headers });
  const refreshToken = () =>
    (persistent.map.get("session") as { refreshToken: string } | undefined)?.refreshToken;
  const signIn = (email: string, password: string) => {
    user = { email, password };
    return session.signIn();
  };
  calls.length = 0;
  return { session, whoAmI, refreshToken, signIn };
}

/** Ends a session as an administrator does (SessionAdminService.RevokeSession). */
const revokeAsAdmin = async (session: Session) => {
  const me = await session.run((headers) =>
    createClient(AuthService, createConnectTransport({ baseUrl: chat.url })).whoAmI({}, { headers }),
  );
  await chat.running.identity.revokeSession(me.sessionId, "admin");
};

/** A clock that says every 2 s token is still far from expiry. */
const longBefore = () => Date.now() - 10 * REFRESH_MARGIN_MS;

async function untilRefused(token: string): Promise<ConnectError> {
  const auth = createClient(AuthService, createConnectTransport({ baseUrl: chat.url }));
  for (;;) {
    const outcome = await auth
      .whoAmI({}, { headers: { authorization: `Bearer ${token}` } })
      .catch((e: unknown) => ConnectError.from(e));
    if (outcome instanceof ConnectError) return outcome;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("the popup's session", () => {
  it("uses its access token while far from expiry, and refreshes it before it expires", async () => {
    let now = longBefore;
    const { session, whoAmI, refreshToken, signIn } = newSession(() => now());
    await signIn("viewer@company.com", chat.passwords.viewer);
    const first = await session.accessToken();
    const spent = refreshToken();
    expect(await session.accessToken()).toBe(first);
    expect(calls).toEqual(["token:authorization_code", "WhoAmI"]);

    now = Date.now; // within the margin of a 2 s token
    const second = await session.accessToken();
    expect(second).not.toBe(first);
    expect(calls).toEqual(["token:authorization_code", "WhoAmI", "token:refresh_token"]);
    expect(refreshToken()).not.toBe(spent);
    expect((await session.run(whoAmI)).user?.email).toBe("viewer@company.com");
  });

  it("after an unauthenticated that asks for a refresh, refreshes and retries the call once", async () => {
    const { session, whoAmI, signIn } = newSession(longBefore);
    await signIn("agent@company.com", chat.passwords.agent);
    const refused = await untilRefused(await session.accessToken());
    expect(refused.rawMessage).toMatch(/^expired:/);
    calls.length = 0;

    const me = await session.run(whoAmI);
    expect(me.user?.email).toBe("agent@company.com");
    expect(calls).toEqual(["WhoAmI", "token:refresh_token", "WhoAmI"]);
  });

  it("calls that need a refresh at the same time share one (a refresh token is single-use)", async () => {
    let now = longBefore;
    const { session, whoAmI, signIn } = newSession(() => now());
    await signIn("admin@company.com", chat.passwords.admin);
    now = Date.now;
    const tokens = await Promise.all([session.accessToken(), session.accessToken(), session.accessToken()]);
    expect(new Set(tokens).size).toBe(1);
    expect(calls.filter((c) => c === "token:refresh_token")).toHaveLength(1);
    // Had the spent token been presented again, the whole session would be revoked.
    expect((await session.run(whoAmI)).user?.email).toBe("admin@company.com");
  });

  it("a revoked session ends in 'log in again', with its tokens forgotten", async () => {
    const { session, whoAmI, refreshToken, signIn } = newSession(longBefore);
    await signIn("viewer@company.com", chat.passwords.viewer);
    await revokeAsAdmin(session);

    const ended = await session.run(whoAmI).catch((e: unknown) => e);
    expect(ended).toBeInstanceOf(SessionEndedError);
    expect((ended as Error).message).toMatch(/revoked.*Log in again/);
    expect(refreshToken()).toBeUndefined();
    const after = await session.accessToken().catch((e: unknown) => e);
    expect(after).toBeInstanceOf(SessionEndedError);
  });

  it("a refresh token the server no longer accepts ends the session too", async () => {
    const { session, signIn } = newSession(Date.now);
    await signIn("viewer@company.com", chat.passwords.viewer);
    await revokeAsAdmin(session);
    const ended = await session.refresh().catch((e: unknown) => e);
    expect(ended).toBeInstanceOf(SessionEndedError);
    expect((ended as Error).message).toMatch(/Log in again/);
  });
});
