import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selfSignedLoopbackCertificate } from "#kit/testing/self-signed.js";
import { startTestIdentity, TEST_ISSUER, type TestIdentity } from "../testing/test-identity.js";
import { openAuthorizePage, type PageVisit, pkcePair, submitLogin } from "./testing/login-browser.js";
import { authorizeUrl, register, tokenRequest } from "./testing/oauth-client-calls.js";

/**
 * Every refusal of docs/identity.md "Refusals" issues nothing: no code, no token, no session. The
 * authorization endpoint redirects with error= only to a validated redirect URI. The protocol is
 * oidc-provider's; what these prove is that it is wired with the product's policy (PKCE always,
 * exact redirect URIs, the MCP resource only, the sign-in page's checks, the shared throttle).
 */
let chat: TestIdentity;
let clientId: string;
let docs: Server;
let docsBase: string;
const REDIRECT = "http://127.0.0.1:4711/callback";
const documents = new Map<string, string>();

beforeAll(async () => {
  const certificate = await selfSignedLoopbackCertificate();
  chat = await startTestIdentity({}, { oauth: { metadataDocuments: { loopbackCa: certificate.cert } } });
  const reg = await register(chat.url, {
    redirect_uris: [REDIRECT, "https://app.example/cb"],
    token_endpoint_auth_method: "none",
    client_name: "Refusal <b>client</b>",
  });
  clientId = reg.body.client_id as string;
  // Client ID Metadata Documents served over https on loopback (allowed outside production only).
  docs = createServer({ key: certificate.key, cert: certificate.cert }, (req, res) => {
    const body = documents.get(req.url ?? "");
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(body);
  });
  await new Promise<void>((resolve) => docs.listen(0, "127.0.0.1", resolve));
  docsBase = `https://127.0.0.1:${(docs.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await chat?.dispose();
  await new Promise((resolve) => docs?.close(resolve));
});

const user = () => ({ email: "agent@company.com", password: chat.passwords.agent });
const count = async (table: string) =>
  (await chat.running.database.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n ??
  0;
const codes = async () =>
  (
    await chat.running.database.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM oidc_models WHERE model = 'AuthorizationCode'",
    )
  ).rows[0]?.n ?? 0;
/** The sign-in page of a fresh authorization request (after the provider's redirect to it). */
const signInPage = async (): Promise<PageVisit> => {
  const page = await openAuthorizePage(
    authorizeUrl(chat.url, { clientId, redirectUri: REDIRECT, challenge: pkcePair().challenge }),
  );
  expect(page.status).toBe(200);
  return page;
};

describe("authorization endpoint", () => {
  it("an unregistered redirect URI, an unknown client or a missing redirect_uri: an error page, no redirect", async () => {
    const { challenge } = pkcePair();
    for (const url of [
      authorizeUrl(chat.url, { clientId, redirectUri: "https://evil.example/cb", challenge }),
      authorizeUrl(chat.url, { clientId, redirectUri: "https://app.example/cb/../x", challenge }),
      authorizeUrl(chat.url, { clientId: "mcp_nobody", redirectUri: REDIRECT, challenge }),
      authorizeUrl(chat.url, {
        clientId,
        redirectUri: REDIRECT,
        challenge,
        extra: { redirect_uri: undefined },
      }),
      `${authorizeUrl(chat.url, { clientId, redirectUri: REDIRECT, challenge })}&redirect_uri=${encodeURIComponent("https://evil.example/cb")}`,
    ]) {
      const page = await openAuthorizePage(url);
      expect(page.status, url).toBe(400);
      expect(page.location).toBeNull();
      expect(page.html).not.toContain("evil.example");
    }
  });

  it("other errors go back to a registered loopback redirect URI with error= and the state", async () => {
    const { challenge } = pkcePair();
    const cases: [Record<string, string | undefined>, string][] = [
      [{ code_challenge: undefined }, "invalid_request"],
      [{ code_challenge_method: "plain" }, "invalid_request"],
      [{ code_challenge: "short" }, "invalid_request"],
      [{ response_type: "token" }, "unsupported_response_type"],
      [{ resource: "http://other.test/mcp" }, "invalid_target"],
    ];
    for (const [extra, error] of cases) {
      const page = await openAuthorizePage(
        authorizeUrl(chat.url, { clientId, redirectUri: REDIRECT, challenge, state: "s-9", extra }),
      );
      expect(page.status).toBe(303);
      const back = new URL(page.location ?? "");
      expect(back.origin + back.pathname).toBe(REDIRECT);
      // An implicit response type is answered in the fragment (its default response mode).
      const answer = back.search !== "" ? back.searchParams : new URLSearchParams(back.hash.slice(1));
      expect([answer.get("error"), answer.get("state"), answer.get("iss")]).toEqual([
        error,
        "s-9",
        TEST_ISSUER,
      ]);
      expect(answer.get("code")).toBeNull();
    }
  });

  it("to a self-registered client's https redirect URI, an error before sign-in is a page with a link the user may follow, not a redirect (RFC 9700 §4.11.2)", async () => {
    const { challenge } = pkcePair();
    const https = "https://app.example/cb";
    const cases: [Record<string, string | undefined>, string][] = [
      [{ code_challenge: undefined }, "invalid_request"],
      [{ prompt: "none" }, "login_required"],
      [{ response_type: "token" }, "unsupported_response_type"],
    ];
    for (const [extra, error] of cases) {
      const page = await openAuthorizePage(
        authorizeUrl(chat.url, { clientId, redirectUri: https, challenge, state: "s-7", extra }),
      );
      expect([page.status, page.location], error).toEqual([400, null]);
      expect(page.html).toContain(`<code>${error}</code>`);
      expect(page.html).toContain("https://app.example");
      const link = /<a href="([^"]+)"/
        .exec(page.html)?.[1]
        ?.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
      const onward = new URL(link ?? "");
      expect(onward.origin + onward.pathname).toBe(https);
      const answer = onward.search !== "" ? onward.searchParams : new URLSearchParams(onward.hash.slice(1));
      expect([answer.get("error"), answer.get("state"), answer.get("code")]).toEqual([error, "s-7", null]);
    }
    // An auto-posting form would send the browser there as surely: the page, with no form.
    const posted = await openAuthorizePage(
      authorizeUrl(chat.url, {
        clientId,
        redirectUri: https,
        challenge,
        extra: { code_challenge: undefined, response_mode: "form_post" },
      }),
    );
    expect([posted.status, posted.location]).toEqual([400, null]);
    expect(posted.html).not.toContain("<form");
    expect(posted.html).toContain("<code>invalid_request</code>");
    // The resume path with no interaction behind it (any uid, no cookie), its client and redirect
    // URI in the link: the library's "authorization request has expired" is the page too.
    for (const mode of [undefined, "fragment", "form_post"]) {
      const q = new URLSearchParams({ client_id: clientId, redirect_uri: https, state: "s-8" });
      if (mode) q.set("response_mode", mode);
      const resumed = await openAuthorizePage(`${chat.url}/oauth2/authorize/made-up?${q}`);
      expect([resumed.status, resumed.location], String(mode)).toEqual([400, null]);
      expect(resumed.html).not.toContain("<form");
      expect(resumed.html).not.toContain("<a href");
    }
    // After the user signed in and chose Deny, the answer goes back as before.
    const consent = await openAuthorizePage(
      authorizeUrl(chat.url, { clientId, redirectUri: https, challenge }),
    );
    expect(consent.status).toBe(200);
    const denied = await submitLogin(consent, { ...user(), decision: "deny" });
    const back = new URL(denied.location ?? "");
    expect([back.origin + back.pathname, back.searchParams.get("error")]).toEqual([https, "access_denied"]);
  });

  it("redirect URIs match exactly (OAuth 2.1 §2.3.1): another port or path is an error page", async () => {
    const { challenge } = pkcePair();
    const ok = await openAuthorizePage(
      authorizeUrl(chat.url, { clientId, redirectUri: REDIRECT, challenge }),
    );
    expect(ok.status).toBe(200);
    expect(ok.html).toContain("Refusal &#60;b&#62;client&#60;/b&#62;");
    for (const other of [
      "http://127.0.0.1:53123/callback",
      "http://127.0.0.1:4711/other",
      "https://app.example:8443/cb",
    ]) {
      const page = await openAuthorizePage(
        authorizeUrl(chat.url, { clientId, redirectUri: other, challenge }),
      );
      expect([page.status, page.location], other).toEqual([400, null]);
    }
  });

  it("a form posted without the page's interaction cookies (cross-site) is refused and issues no code", async () => {
    const before = await codes();
    const page = await signInPage();
    const noCookie = await submitLogin(page, user(), { cookies: false });
    expect([noCookie.status, noCookie.location]).toEqual([400, null]);
    expect(noCookie.html).toContain("start again from the application");
    expect(await codes()).toBe(before);
  });

  it("a wrong password shows the page again (401) with one message; deny redirects access_denied", async () => {
    const before = await codes();
    const page = await signInPage();
    const wrong = await submitLogin(page, { email: "agent@company.com", password: "not-it" });
    expect([wrong.status, wrong.location]).toEqual([401, null]);
    expect(wrong.html.match(/Invalid email or password\./g)).toHaveLength(1);
    const denied = await submitLogin(wrong, { ...user(), decision: "deny" });
    const back = new URL(denied.location ?? "");
    expect([back.searchParams.get("error"), back.searchParams.get("code")]).toEqual(["access_denied", null]);
    expect(await codes()).toBe(before);
  });

  it("a post naming another origin is refused; `Origin: null` (Chromium under some referrer policies) is served", async () => {
    const foreign = await submitLogin(await signInPage(), user(), { origin: "https://evil.example" });
    expect([foreign.status, foreign.location]).toEqual([403, null]);
    const nullOrigin = await submitLogin(await signInPage(), user(), { origin: "null" });
    expect(new URL(nullOrigin.location ?? "").searchParams.get("code")).toBeTruthy();
  });

  it("a sign-in is single-use: the same page posted again after it finished is refused", async () => {
    const page = await signInPage();
    const done = await submitLogin(page, user());
    expect(new URL(done.location ?? "").searchParams.get("code")).toBeTruthy();
    const before = await codes();
    const again = await submitLogin(page, user());
    expect([again.status, again.location]).toEqual([400, null]);
    expect(await codes()).toBe(before);
  });

  it("the sign-in page counts failures in the same throttle as AuthService.Login", async () => {
    const email = "throttled@company.com";
    let current = await signInPage();
    for (let i = 0; i < chat.config.LOGIN_MAX_FAILURES_PER_EMAIL; i++) {
      current = await submitLogin(current, { email, password: "wrong" });
    }
    const err = await chat.auth.login({ email, password: "wrong" }).catch((e: unknown) => e as Error);
    expect(String(err)).toMatch(/too many failed login attempts/);
    // The page itself: 429, the wait in its Retry-After and in the one message shown.
    const refused = await submitLogin(current, { email, password: "wrong" });
    expect([refused.status, refused.location]).toEqual([429, null]);
    const wait = Number(refused.retryAfter);
    expect(wait).toBeGreaterThan(0);
    expect(refused.html.match(/Too many failed sign-in attempts; try again in (\d+) s\./g)).toEqual([
      `Too many failed sign-in attempts; try again in ${wait} s.`,
    ]);
  });
});

describe("token endpoint", () => {
  async function codeFor(redirectUri = REDIRECT) {
    const { verifier, challenge } = pkcePair();
    const page = await openAuthorizePage(authorizeUrl(chat.url, { clientId, redirectUri, challenge }));
    const done = await submitLogin(page, user());
    return { code: new URL(done.location ?? "").searchParams.get("code") ?? "", verifier };
  }
  const redeem = (form: Record<string, string>) =>
    tokenRequest(chat.url, {
      grant_type: "authorization_code",
      client_id: clientId,
      redirect_uri: REDIRECT,
      ...form,
    });

  it("a missing or wrong PKCE verifier is refused and the code cannot be used after", async () => {
    const { code, verifier } = await codeFor();
    const sessions = await count("sessions");
    const missing = await redeem({ code });
    expect(missing.status).toBe(400);
    expect(["invalid_request", "invalid_grant"]).toContain(missing.body.error);
    const wrong = await redeem({ code, code_verifier: pkcePair().verifier });
    expect([wrong.status, wrong.body.error]).toEqual([400, "invalid_grant"]);
    expect(wrong.body.access_token).toBeUndefined();
    // The grant (the session) was made at sign-in: nothing more was issued. The right verifier
    // still redeems it once (a 256-bit verifier is not guessed by retrying).
    expect(await count("sessions")).toBe(sessions);
    expect((await redeem({ code, code_verifier: verifier })).status).toBe(200);
    expect((await redeem({ code, code_verifier: verifier })).body.error).toBe("invalid_grant");
  });

  it("a resource its client's tokens are not for redeems nothing: the code and the refresh token still work after", async () => {
    const mcp = chat.config.MCP_RESOURCE;
    const { code, verifier } = await codeFor();
    // A trailing slash is another resource (RFC 8707 compares them as strings).
    const slash = await redeem({ code, code_verifier: verifier, resource: `${mcp}/` });
    expect([slash.status, slash.body.error]).toEqual([400, "invalid_target"]);
    const issued = await redeem({ code, code_verifier: verifier, resource: mcp });
    expect(issued.status).toBe(200);
    const refresh = (resource?: string) =>
      tokenRequest(chat.url, {
        grant_type: "refresh_token",
        client_id: clientId,
        refresh_token: issued.body.refresh_token as string,
        ...(resource === undefined ? {} : { resource }),
      });
    const other = await refresh("http://localhost:8083/mcp");
    expect([other.status, other.body.error]).toEqual([400, "invalid_target"]);
    // The client named by HTTP Basic (RFC 6749 §2.3.1) rather than in the form: refused the same.
    const basic = await fetch(`${chat.url}/oauth2/token`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:x`).toString("base64")}`,
      },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: issued.body.refresh_token as string,
        resource: `${mcp}/`,
      }),
    });
    expect([basic.status, ((await basic.json()) as { error?: string }).error]).toEqual([
      400,
      "invalid_target",
    ]);
    const renewed = await refresh(mcp);
    expect([renewed.status, renewed.body.error]).toEqual([200, undefined]);
    const sid = JSON.parse(
      Buffer.from((issued.body.access_token as string).split(".")[1] ?? "", "base64url").toString(),
    ).sid;
    const row = await chat.running.database.query("SELECT revoke_reason FROM sessions WHERE id = $1", [sid]);
    expect(row.rows[0]).toEqual({ revoke_reason: null });
  });

  it("a wrong redirect_uri or unknown resource at the token endpoint is refused", async () => {
    const a = await codeFor();
    const target = await redeem({
      code: a.code,
      code_verifier: a.verifier,
      resource: "http://other.test/mcp",
    });
    expect([target.status, target.body.error]).toEqual([400, "invalid_target"]);
    const uri = await redeem({
      code: a.code,
      code_verifier: a.verifier,
      redirect_uri: "http://127.0.0.1:9/callback",
    });
    expect([uri.status, uri.body.error]).toEqual([400, "invalid_grant"]);
  });

  it("another client's code (foreign) is invalid_grant and leaves the code to its client", async () => {
    const other = await register(chat.url, { redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" });
    const { code, verifier } = await codeFor();
    const foreign = await tokenRequest(chat.url, {
      grant_type: "authorization_code",
      client_id: other.body.client_id as string,
      code,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    });
    expect([foreign.status, foreign.body.error]).toEqual([400, "invalid_grant"]);
    expect((await redeem({ code, code_verifier: verifier })).status).toBe(200);
  });

  it("a reused code is invalid_grant and revokes what its first redemption issued", async () => {
    const { code, verifier } = await codeFor();
    const first = await redeem({ code, code_verifier: verifier });
    expect(first.status).toBe(200);
    const again = await redeem({ code, code_verifier: verifier });
    expect([again.status, again.body.error]).toEqual([400, "invalid_grant"]);
    const refresh = await tokenRequest(chat.url, {
      grant_type: "refresh_token",
      client_id: clientId,
      refresh_token: first.body.refresh_token as string,
    });
    expect(refresh.body.error).toBe("invalid_grant");
    const sid = JSON.parse(
      Buffer.from((first.body.access_token as string).split(".")[1] ?? "", "base64url").toString(),
    ).sid;
    const row = await chat.running.database.query("SELECT revoke_reason FROM sessions WHERE id = $1", [sid]);
    expect(row.rows[0]).toEqual({ revoke_reason: "authorization_code_reuse" });
  });

  it("an unknown code, an unknown client, a public client sending a secret: refused", async () => {
    expect((await redeem({ code: "nope-".repeat(9), code_verifier: pkcePair().verifier })).body.error).toBe(
      "invalid_grant",
    );
    const unknown = await tokenRequest(chat.url, {
      grant_type: "authorization_code",
      client_id: "mcp_nobody",
      code: "sxc_x",
      redirect_uri: REDIRECT,
      code_verifier: pkcePair().verifier,
    });
    expect([unknown.status, unknown.body.error]).toEqual([401, "invalid_client"]);
    const secret = await tokenRequest(chat.url, {
      grant_type: "authorization_code",
      client_id: clientId,
      client_secret: "x",
      code: "sxc_x",
      redirect_uri: REDIRECT,
      code_verifier: pkcePair().verifier,
    });
    expect(secret.body.error).toBe("invalid_client");
  });
});

describe("registration", () => {
  it("a client that names no authentication method is public: no secret is issued; one that asks for a secret gets it", async () => {
    const plain = await register(chat.url, { redirect_uris: [REDIRECT] });
    expect(plain.status).toBe(201);
    expect(plain.body.token_endpoint_auth_method).toBe("none");
    expect(plain.body).not.toHaveProperty("client_secret");
    const stored = await chat.running.database.query<{ payload: Record<string, unknown> }>(
      "SELECT payload FROM oidc_models WHERE id = $1",
      [plain.body.client_id],
    );
    expect(stored.rows[0]?.payload).not.toHaveProperty("client_secret");
    const confidential = await register(chat.url, {
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: "client_secret_basic",
    });
    expect(confidential.status).toBe(201);
    expect(String(confidential.body.client_secret).length).toBeGreaterThanOrEqual(32);
  });

  it("refuses bad redirect URIs and unsupported metadata", async () => {
    for (const [metadata, error] of [
      [{ redirect_uris: ["http://evil.example/cb"] }, "invalid_redirect_uri"],
      [
        { redirect_uris: [["https://a.example/cb"]], token_endpoint_auth_method: "none" },
        "invalid_redirect_uri",
      ],
      [{ redirect_uris: ["javascript:alert(1)"] }, "invalid_redirect_uri"],
      [{ redirect_uris: ["https://a.example/cb#frag"] }, "invalid_redirect_uri"],
      [{ redirect_uris: [] }, "invalid_redirect_uri"],
      [
        { redirect_uris: ["https://a.example/cb"], grant_types: ["client_credentials"] },
        "invalid_client_metadata",
      ],
      [
        { redirect_uris: ["https://a.example/cb"], token_endpoint_auth_method: "private_key_jwt" },
        "invalid_client_metadata",
      ],
      // URLs the provider would fetch later, from inside our network: never accepted.
      [
        { redirect_uris: ["https://a.example/cb"], jwks_uri: "https://127.0.0.1:9/keys" },
        "invalid_client_metadata",
      ],
      [
        { redirect_uris: ["https://a.example/cb"], sector_identifier_uri: "https://10.0.0.1/s.json" },
        "invalid_client_metadata",
      ],
    ] as const) {
      const res = await register(chat.url, metadata);
      expect([res.status, res.body.error], JSON.stringify(metadata)).toEqual([400, error]);
    }
  });

  it("a browser-based client on any origin may register (CORS preflight and answer)", async () => {
    const origin = "https://inspector.example";
    const preflight = await fetch(`${chat.url}/oauth2/register`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect([preflight.status, preflight.headers.get("access-control-allow-origin")]).toEqual([204, "*"]);
    const res = await fetch(`${chat.url}/oauth2/register`, {
      method: "POST",
      headers: { origin, "content-type": "application/json" },
      body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" }),
    });
    expect([res.status, res.headers.get("access-control-allow-origin")]).toEqual([201, "*"]);
  });

  it("limits registrations per address", async () => {
    let last = 0;
    for (let i = 0; i < 25 && last !== 429; i++) {
      last = (
        await register(chat.url, {
          redirect_uris: ["https://many.example/cb"],
          token_endpoint_auth_method: "none",
        })
      ).status;
    }
    expect(last).toBe(429);
  });
});

describe("Client ID Metadata Documents", () => {
  it("a document naming itself is a client; one that doesn't, or is too large, is not", async () => {
    const good = `${docsBase}/good.json`;
    documents.set(
      "/good.json",
      JSON.stringify({
        client_id: good,
        client_name: "Doc client",
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: "none",
      }),
    );
    documents.set(
      "/liar.json",
      JSON.stringify({ client_id: `${docsBase}/other.json`, redirect_uris: [REDIRECT] }),
    );
    documents.set(
      "/big.json",
      JSON.stringify({
        client_id: `${docsBase}/big.json`,
        redirect_uris: [REDIRECT],
        pad: "x".repeat(10_000),
      }),
    );
    const flow = await fullCodeFlowWith(good);
    expect(flow.status).toBe(200);
    for (const bad of [`${docsBase}/liar.json`, `${docsBase}/big.json`, `${docsBase}/missing.json`]) {
      const page = await openAuthorizePage(
        authorizeUrl(chat.url, { clientId: bad, redirectUri: REDIRECT, challenge: pkcePair().challenge }),
      );
      expect([page.status, page.location], bad).toEqual([400, null]);
    }
  });

  it("a document's redirect URIs are held to the rules a registration is: plain http off loopback is refused", async () => {
    for (const [name, redirect] of [
      ["/http.json", "http://evil.example/cb"],
      ["/nip.json", "http://127.0.0.1.nip.io/cb"],
    ] as const) {
      const id = `${docsBase}${name}`;
      documents.set(
        name,
        JSON.stringify({ client_id: id, redirect_uris: [redirect], token_endpoint_auth_method: "none" }),
      );
      const page = await openAuthorizePage(
        authorizeUrl(chat.url, { clientId: id, redirectUri: redirect, challenge: pkcePair().challenge }),
      );
      expect([page.status, page.location], redirect).toEqual([400, null]);
      expect(
        chat.logs
          .records()
          .some((r) => r.client_id === id && String(r.problem).includes("only for loopback")),
      ).toBe(true);
    }
  });

  it("a document naming a URL the server would fetch later (jwks_uri, sector_identifier_uri) is refused, as a registration is", async () => {
    for (const [name, field, url] of [
      ["/jwks.json", "jwks_uri", `${docsBase}/keys.json`],
      ["/sector.json", "sector_identifier_uri", `${docsBase}/sector-list.json`],
    ] as const) {
      const id = `${docsBase}${name}`;
      documents.set(
        name,
        JSON.stringify({
          client_id: id,
          redirect_uris: [REDIRECT],
          token_endpoint_auth_method: field === "jwks_uri" ? "private_key_jwt" : "none",
          [field]: url,
        }),
      );
      const page = await openAuthorizePage(
        authorizeUrl(chat.url, { clientId: id, redirectUri: REDIRECT, challenge: pkcePair().challenge }),
      );
      expect([page.status, page.location], field).toEqual([400, null]);
      // sector_identifier_uri the library refuses itself (no pairwise subjects here); jwks_uri it
      // would fetch at the token endpoint for private_key_jwt: that one is ours to refuse.
      if (field === "jwks_uri") {
        expect(chat.logs.records().some((r) => r.client_id === id && r.field === field)).toBe(true);
      }
    }
  });

  async function fullCodeFlowWith(docClientId: string) {
    const { verifier, challenge } = pkcePair();
    const page = await openAuthorizePage(
      authorizeUrl(chat.url, { clientId: docClientId, redirectUri: REDIRECT, challenge }),
    );
    expect(page.html).toContain("Doc client");
    const done = await submitLogin(page, user());
    const code = new URL(done.location ?? "").searchParams.get("code") ?? "";
    return tokenRequest(chat.url, {
      grant_type: "authorization_code",
      client_id: docClientId,
      code,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    });
  }
});
