import { Code, ConnectError } from "@connectrpc/connect";
import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bearer,
  startTestIdentity,
  TEST_ISSUER,
  TEST_MCP_RESOURCE,
  type TestIdentity,
} from "../testing/test-identity.js";
import { loginThroughPage, openAuthorizePage, pkcePair } from "./testing/login-browser.js";
import { authorizeUrl, fullCodeFlow, register, tokenRequest } from "./testing/oauth-client-calls.js";

let chat: TestIdentity;
beforeAll(async () => {
  chat = await startTestIdentity();
});
afterAll(async () => {
  await chat?.dispose();
});
const agentUser = () => ({ email: "agent@company.com", password: chat.passwords.agent });
const count = async (table: string) =>
  (await chat.running.database.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n ?? 0;

describe("RFC 8414 metadata", () => {
  it("names the issuer, the endpoints, S256 only and Client ID Metadata Documents", async () => {
    const res = await fetch(`${chat.url}/.well-known/oauth-authorization-server`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      issuer: TEST_ISSUER,
      // Endpoints on the address the document was asked at (the issuer is the public one).
      authorization_endpoint: `${chat.url}/oauth2/authorize`,
      token_endpoint: `${chat.url}/oauth2/token`,
      registration_endpoint: `${chat.url}/oauth2/register`,
      revocation_endpoint: `${chat.url}/oauth2/revoke`,
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: true,
    });
    // What no flow of ours uses is neither advertised nor served (docs/identity.md).
    for (const unused of [
      "pushed_authorization_request_endpoint",
      "end_session_endpoint",
      "userinfo_endpoint",
      "introspection_endpoint",
      "device_authorization_endpoint",
    ])
      expect(body).not.toHaveProperty(unused);
    for (const path of ["/oauth2/par", "/oauth2/logout", "/oauth2/userinfo", "/oauth2/introspect"]) {
      const unusedRes = await fetch(`${chat.url}${path}`, { method: "POST" });
      expect(unusedRes.status, path).toBe(404);
    }
  });
});

describe("authorization code with PKCE, then refresh rotation", () => {
  it("issues an MCP-audience token with the asked scopes ∩ the user's, naming the client", async () => {
    const flow = await fullCodeFlow(chat.url, agentUser(), {
      scope: "tickets:read tickets:delete",
      resource: TEST_MCP_RESOURCE,
    });
    expect(flow.back.origin + flow.back.pathname).toBe(flow.redirectUri);
    expect(flow.back.searchParams.get("state")).toBe("st-1");
    expect(flow.back.searchParams.get("iss")).toBe(TEST_ISSUER);
    expect(flow.token.status).toBe(200);
    expect(flow.token.headers.get("cache-control")).toBe("no-store");
    const body = flow.token.body;
    expect(body).toMatchObject({ token_type: "Bearer", scope: "tickets:read" });
    expect(String(body.refresh_token).length).toBeGreaterThanOrEqual(43);
    const claims = jose.decodeJwt(body.access_token as string);
    // The agent user has no tickets:delete: narrowed to what was asked AND held.
    expect(claims).toMatchObject({
      iss: TEST_ISSUER,
      aud: TEST_MCP_RESOURCE,
      scope: "tickets:read",
      act: { sub: flow.clientId },
    });
    expect(claims.sid).toEqual(expect.any(String));
    expect(jose.decodeProtectedHeader(body.access_token as string).typ).toBe("at+jwt");

    const rotated = await tokenRequest(chat.url, {
      grant_type: "refresh_token",
      client_id: flow.clientId,
      refresh_token: body.refresh_token as string,
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).not.toBe(body.refresh_token);
    expect(jose.decodeJwt(rotated.body.access_token as string)).toMatchObject({
      sid: claims.sid,
      scope: "tickets:read",
      act: { sub: flow.clientId },
    });
  });

  it("a DPoP proof binds nothing: no resource server here checks one, so every token is a plain Bearer token", async () => {
    const flow = await fullCodeFlow(chat.url, agentUser(), { resource: TEST_MCP_RESOURCE });
    const { publicKey, privateKey } = await jose.generateKeyPair("ES256");
    const tokenEndpoint = `${chat.url}/oauth2/token`;
    // A valid proof (RFC 9449 §4.2), as a client that wants its tokens bound sends it.
    const proof = await new jose.SignJWT({ htm: "POST", htu: tokenEndpoint, jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: await jose.exportJWK(publicKey) })
      .setIssuedAt()
      .sign(privateKey);
    const res = await fetch(tokenEndpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", dpop: proof },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        client_id: flow.clientId,
        refresh_token: flow.token.body.refresh_token as string,
      }),
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect([res.status, body.token_type]).toEqual([200, "Bearer"]);
    expect(jose.decodeJwt(body.access_token as string)).not.toHaveProperty("cnf");
    const metadata = (await (
      await fetch(`${chat.url}/.well-known/oauth-authorization-server`)
    ).json()) as object;
    expect(metadata).not.toHaveProperty("dpop_signing_alg_values_supported");
  });

  it("without scope gets the user's scopes; without resource is bound to the MCP resource", async () => {
    const flow = await fullCodeFlow(chat.url, {
      email: "viewer@company.com",
      password: chat.passwords.viewer,
    });
    expect(flow.token.status).toBe(200);
    expect(jose.decodeJwt(flow.token.body.access_token as string)).toMatchObject({
      aud: TEST_MCP_RESOURCE,
      scope: "tickets:read integrations:read",
    });
  });

  it("a reused refresh token revokes the grant: its successor stops working and its sid is revoked", async () => {
    const flow = await fullCodeFlow(chat.url, agentUser());
    const first = flow.token.body.refresh_token as string;
    const sid = jose.decodeJwt(flow.token.body.access_token as string).sid as string;
    const second = await tokenRequest(chat.url, {
      grant_type: "refresh_token",
      client_id: flow.clientId,
      refresh_token: first,
    });
    expect(second.status).toBe(200);
    const reuse = await tokenRequest(chat.url, {
      grant_type: "refresh_token",
      client_id: flow.clientId,
      refresh_token: first,
    });
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toBe("invalid_grant");
    expect(reuse.body.access_token).toBeUndefined();
    const successor = await tokenRequest(chat.url, {
      grant_type: "refresh_token",
      client_id: flow.clientId,
      refresh_token: second.body.refresh_token as string,
    });
    expect(successor.body.error).toBe("invalid_grant");
    const revoked = await chat.running.database.query("SELECT revoke_reason FROM sessions WHERE id = $1", [
      sid,
    ]);
    expect(revoked.rows[0]).toEqual({ revoke_reason: "refresh_token_reuse" });
  });

  it("concurrent refreshes with one refresh token are reuse too: one answer, then the grant ends, the winner's tokens included", async () => {
    const flow = await fullCodeFlow(chat.url, agentUser());
    const sid = jose.decodeJwt(String(flow.token.body.access_token)).sid as string;
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        tokenRequest(chat.url, {
          grant_type: "refresh_token",
          client_id: flow.clientId,
          refresh_token: flow.token.body.refresh_token as string,
        }),
      ),
    );
    const won = answers.filter((a) => a.status === 200);
    expect(won).toHaveLength(1);
    for (const a of answers.filter((a) => a.status !== 200)) expect(a.body.error).toBe("invalid_grant");
    await expect
      .poll(
        async () =>
          (
            await chat.running.database.query<{ revoke_reason: string | null }>(
              "SELECT revoke_reason FROM sessions WHERE id = $1",
              [sid],
            )
          ).rows[0]?.revoke_reason,
      )
      .toBe("refresh_token_reuse");
    const successor = await tokenRequest(chat.url, {
      grant_type: "refresh_token",
      client_id: flow.clientId,
      refresh_token: won[0]?.body.refresh_token as string,
    });
    expect(successor.body.error).toBe("invalid_grant");
  });

  it("an administrator's revocation or the client's own (RFC 7009) ends the grant: no refresh after", async () => {
    const sidOf = (token: unknown) => jose.decodeJwt(String(token)).sid as string;
    const admin = await fullCodeFlow(chat.url, agentUser());
    await chat.running.identity.revokeSession(sidOf(admin.token.body.access_token), "admin");
    const afterAdmin = await tokenRequest(chat.url, {
      grant_type: "refresh_token",
      client_id: admin.clientId,
      refresh_token: admin.token.body.refresh_token as string,
    });
    expect([afterAdmin.status, afterAdmin.body.error]).toEqual([400, "invalid_grant"]);

    const own = await fullCodeFlow(chat.url, agentUser());
    const revoked = await fetch(`${chat.url}/oauth2/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        client_id: own.clientId,
        token: own.token.body.refresh_token as string,
        token_type_hint: "refresh_token",
      }),
    });
    expect(revoked.status).toBe(200);
    const afterOwn = await tokenRequest(chat.url, {
      grant_type: "refresh_token",
      client_id: own.clientId,
      refresh_token: own.token.body.refresh_token as string,
    });
    expect(afterOwn.body.error).toBe("invalid_grant");
    // The revocation reaches the session (and so the feed) from the provider's event.
    await expect
      .poll(
        async () =>
          (
            await chat.running.database.query<{ revoke_reason: string | null }>(
              "SELECT revoke_reason FROM sessions WHERE id = $1",
              [sidOf(own.token.body.access_token)],
            )
          ).rows[0]?.revoke_reason,
      )
      .toBe("client_revoked");
  });

  it("a refresh token is bound to its client and is useless at AuthService.Refresh", async () => {
    const a = await fullCodeFlow(chat.url, agentUser());
    const b = await register(chat.url, {
      redirect_uris: ["https://b.example/cb"],
      token_endpoint_auth_method: "none",
    });
    const before = await count("oidc_models WHERE model = 'RefreshToken' AND consumed_at IS NULL");
    const foreign = await tokenRequest(chat.url, {
      grant_type: "refresh_token",
      client_id: b.body.client_id as string,
      refresh_token: a.token.body.refresh_token as string,
    });
    expect(foreign.body.error).toBe("invalid_grant");
    expect(await count("oidc_models WHERE model = 'RefreshToken' AND consumed_at IS NULL")).toBe(before);
    const err = await chat.auth
      .refresh({ refreshToken: a.token.body.refresh_token as string })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
    // The rightful client still refreshes: the foreign attempt spent nothing.
    const own = await tokenRequest(chat.url, {
      grant_type: "refresh_token",
      client_id: a.clientId,
      refresh_token: a.token.body.refresh_token as string,
    });
    expect(own.status).toBe(200);
  });

  it("a confidential registered client authenticates with its secret", async () => {
    const reg = await register(chat.url, {
      redirect_uris: ["https://conf.example/cb"],
      token_endpoint_auth_method: "client_secret_basic",
    });
    expect(reg.status).toBe(201);
    const clientId = reg.body.client_id as string;
    const secret = reg.body.client_secret as string;
    expect(secret.length).toBeGreaterThanOrEqual(43);
    const { verifier, challenge } = pkcePair();
    const back = await loginThroughPage(
      authorizeUrl(chat.url, { clientId, redirectUri: "https://conf.example/cb", challenge }),
      agentUser(),
    );
    const form = {
      grant_type: "authorization_code",
      code: back.searchParams.get("code") ?? "",
      redirect_uri: "https://conf.example/cb",
      code_verifier: verifier,
    };
    const { postTokenRequest } = await import("../testing/token-request.js");
    const wrong = await postTokenRequest(chat.url, form, { basic: [clientId, `${secret}x`] });
    expect([wrong.status, wrong.body.error]).toEqual([401, "invalid_client"]);
    const right = await postTokenRequest(chat.url, form, { basic: [clientId, secret] });
    expect(right.status).toBe(200);
  });
});

describe("no credential in the logs", () => {
  it("codes and refresh tokens are stored only as hashes: the database holds no usable one", async () => {
    const flow = await fullCodeFlow(chat.url, agentUser());
    const rows = await chat.running.database.query<{ model: string; id: string; payload: unknown }>(
      "SELECT model, id, payload FROM oidc_models",
    );
    const stored = JSON.stringify(rows.rows);
    expect(stored).not.toContain(flow.code);
    expect(stored).not.toContain(flow.token.body.refresh_token as string);
    expect(rows.rows.some((r) => r.model === "RefreshToken" && r.id.startsWith("sha256:"))).toBe(true);
  });

  it("codes, tokens, secrets and passwords never appear in a log line", async () => {
    const flow = await fullCodeFlow(chat.url, agentUser());
    const logs = chat.logs.lines.join("\n");
    for (const secret of [
      flow.code,
      flow.token.body.access_token,
      flow.token.body.refresh_token,
      flow.verifier,
      chat.passwords.agent,
    ]) {
      expect(logs).not.toContain(secret as string);
    }
    expect(
      chat.logs
        .records()
        .some((r) => r.msg === "token issued to an MCP client" && r.client_id === flow.clientId),
    ).toBe(true);
  });
});

describe("the browser extension's sign-in (a first-party public client)", () => {
  const EXTENSION_REDIRECT = "https://acokindkkielecaefpadkffcmdniiddb.chromiumapp.org/";

  it("code + PKCE at chrome.identity's redirect: an API token without act, refreshed and revoked as its session", async () => {
    const { verifier, challenge } = pkcePair();
    const back = await loginThroughPage(
      authorizeUrl(chat.url, {
        clientId: "support-ext-extension",
        redirectUri: EXTENSION_REDIRECT,
        challenge,
      }),
      agentUser(),
    );
    expect(back.origin + back.pathname).toBe(EXTENSION_REDIRECT);
    const token = await tokenRequest(chat.url, {
      grant_type: "authorization_code",
      client_id: "support-ext-extension",
      code: back.searchParams.get("code") ?? "",
      redirect_uri: EXTENSION_REDIRECT,
      code_verifier: verifier,
    });
    expect(token.status).toBe(200);
    const claims = jose.decodeJwt(token.body.access_token as string);
    expect(claims).toMatchObject({ aud: chat.config.API_AUDIENCE, email: "agent@company.com" });
    expect(claims.act).toBeUndefined();
    // The API token works where the extension uses it: the identity service's own RPCs, and chat's.
    const me = await chat.auth.whoAmI({}, bearer(token.body.access_token as string));
    expect([me.user?.email, me.sessionId]).toEqual(["agent@company.com", claims.sid]);

    const refreshed = await tokenRequest(chat.url, {
      grant_type: "refresh_token",
      client_id: "support-ext-extension",
      refresh_token: token.body.refresh_token as string,
    });
    expect(refreshed.status).toBe(200);
    // Signing out: RFC 7009 revocation of the refresh token ends the session at every hop.
    const revoked = await fetch(`${chat.url}/oauth2/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        client_id: "support-ext-extension",
        token: refreshed.body.refresh_token as string,
      }),
    });
    expect(revoked.status).toBe(200);
    await expect
      .poll(
        async () =>
          ConnectError.from(
            await chat.auth
              .whoAmI({}, bearer(refreshed.body.access_token as string))
              .catch((e: unknown) => e),
          ).code,
      )
      .toBe(Code.Unauthenticated);
  });

  it("the extension's client gets no MCP token, and an MCP client no API token (refused before sign-in)", async () => {
    const { challenge } = pkcePair();
    const refusedAt = async (clientId: string, redirectUri: string, resource: string) => {
      const page = await openAuthorizePage(
        authorizeUrl(chat.url, { clientId, redirectUri, challenge, resource }),
      );
      return new URL(page.location ?? "").searchParams.get("error");
    };
    expect(await refusedAt("support-ext-extension", EXTENSION_REDIRECT, TEST_MCP_RESOURCE)).toBe(
      "invalid_target",
    );
    const mcpClient = await register(chat.url, {
      redirect_uris: ["http://127.0.0.1:4711/callback"],
      token_endpoint_auth_method: "none",
    });
    expect(
      await refusedAt(
        mcpClient.body.client_id as string,
        "http://127.0.0.1:4711/callback",
        chat.config.CHAT_URL,
      ),
    ).toBe("invalid_target");
  });
});
