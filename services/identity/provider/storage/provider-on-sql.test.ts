import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from "jose";
import { type Client, errors, Provider, type ResourceServer, type TokenPolicy } from "oidc-provider";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { OIDC_MIGRATIONS } from "./oidc-migrations.js";
import { createSqlAdapterClass, storedId } from "./sql-adapter.js";

/** The API's resource indicator (RFC 8707): JWT access tokens (RFC 9068) for `support-ext-api`. */
const API = "urn:support-ext:api";
/** A second resource whose access tokens are opaque, i.e. stored through the adapter. */
const OPAQUE_API = "urn:support-ext:opaque-api";
const CLIENT_ID = "svc";
const CLIENT_SECRET = "a-secret-of-at-least-32-bytes-long-xxxx";
/** A client that may also refresh, for the single-use refresh token case. */
const RT_CLIENT_ID = "svc-refresh";

const RESOURCE_SERVERS: Record<string, ResourceServer> = {
  [API]: {
    audience: "support-ext-api",
    scope: "tickets:read",
    accessTokenFormat: "jwt",
    jwt: { sign: { alg: "ES256" } },
  },
  [OPAQUE_API]: { audience: "support-ext-opaque-api", scope: "tickets:read", accessTokenFormat: "opaque" },
};

interface Discovery {
  issuer: string;
  token_endpoint: string;
  jwks_uri: string;
  introspection_endpoint: string;
  revocation_endpoint: string;
}

interface StoredRow extends Record<string, unknown> {
  model: string;
  id: string;
  payload: Record<string, unknown>;
  grant_id: string | null;
  expires_at: Date | null;
}

/** A client introspects and revokes its own tokens only. */
const ownTokensOnly: TokenPolicy = (_ctx, client, token) => token.clientId === client.clientId;

/** A provider with `createSqlAdapterClass(db)` as its storage, on a loopback HTTP server. */
async function startProvider(db: Database): Promise<{ provider: Provider; server: Server; issuer: string }> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: "test-es256", alg: "ES256", use: "sig" };

  // The issuer names the port, so the server listens before the provider exists.
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const provider = new Provider(issuer, {
    adapter: createSqlAdapterClass(db),
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
        // The only key is ES256; the client default (RS256) would have no key and fail validation.
        id_token_signed_response_alg: "ES256",
      },
      {
        client_id: RT_CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_types: ["client_credentials", "refresh_token"],
        response_types: [],
        redirect_uris: [],
        id_token_signed_response_alg: "ES256",
      },
    ],
    // Every refresh spends its refresh token (RFC 9700 §4.14.2): `consume` on every use.
    rotateRefreshToken: true,
    jwks: { keys: [signingKey] },
    ttl: { ClientCredentials: 600, AccessToken: 600, RefreshToken: 3_600, Grant: 3_600 },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      introspection: { enabled: true, allowedPolicy: ownTokensOnly },
      revocation: { enabled: true, allowedPolicy: ownTokensOnly },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API,
        getResourceServerInfo: (_ctx, resource) => {
          const info = RESOURCE_SERVERS[resource];
          if (!info) throw new errors.InvalidTarget();
          return info;
        },
        useGrantedResource: () => true,
      },
    },
  });
  handler = provider.callback();
  return { provider, server, issuer };
}

/** A form POST with the client's HTTP Basic credentials (RFC 6749 §2.3.1). */
async function postForm(url: string, form: Record<string, string>, clientId = CLIENT_ID) {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${CLIENT_SECRET}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams(form),
  });
  const text = await res.text();
  return { status: res.status, body: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown> };
}

describe.each(testBackends("identity", OIDC_MIGRATIONS))(
  "oidc-provider storing in SQL on $name",
  (backend) => {
    let handle: TestDatabase;
    let db: Database;
    let provider: Provider;
    let server: Server;
    let discovery: Discovery;

    const rowsOf = async (where: string, params: unknown[]) =>
      (
        await db.query<StoredRow>(
          `SELECT model, id, payload, grant_id, expires_at FROM oidc_models WHERE ${where} ORDER BY model, id`,
          params,
        )
      ).rows;

    beforeAll(async () => {
      handle = await backend.open();
      db = handle.db;
      let issuer: string;
      ({ provider, server, issuer } = await startProvider(db));
      const res = await fetch(`${issuer}/.well-known/openid-configuration`);
      expect(res.status).toBe(200);
      discovery = (await res.json()) as Discovery;
      expect(discovery.issuer).toBe(issuer);
    });
    afterAll(async () => {
      if (server) {
        server.closeAllConnections();
        server.close();
      }
      await handle?.close();
    });

    it("issues a client-credentials JWT access token over HTTP that verifies against its JWKS endpoint", async () => {
      const { status, body } = await postForm(discovery.token_endpoint, {
        grant_type: "client_credentials",
        scope: "tickets:read",
      });
      expect(status, JSON.stringify(body)).toBe(200);
      expect(body).toMatchObject({ token_type: "Bearer", expires_in: 600, scope: "tickets:read" });

      const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
      const { payload, protectedHeader } = await jwtVerify(String(body.access_token), jwks, {
        issuer: discovery.issuer,
        audience: "support-ext-api",
        typ: "at+jwt", // RFC 9068 §2.1
        algorithms: ["ES256"],
      });
      expect(protectedHeader.kid).toBe("test-es256");
      expect(payload).toMatchObject({ client_id: CLIENT_ID, sub: CLIENT_ID, scope: "tickets:read" });
      // A JWT access token is self-contained: nothing of it is stored.
      expect(await rowsOf("id = $1", [payload.jti])).toEqual([]);
    });

    it("an opaque access token is a row of oidc_models: issued, introspected, revoked", async () => {
      const issued = await postForm(discovery.token_endpoint, {
        grant_type: "client_credentials",
        resource: OPAQUE_API,
        scope: "tickets:read",
      });
      expect(issued.status, JSON.stringify(issued.body)).toBe(200);
      const token = String(issued.body.access_token);

      // Issued: upserted under the token's SHA-256 (the value itself is stored nowhere), with the
      // provider's payload and a lifetime of expires_in.
      const key = storedId("ClientCredentials", token);
      const [row] = await rowsOf("id = $1", [key]);
      expect(JSON.stringify(await rowsOf("true", []))).not.toContain(token);
      expect(row).toMatchObject({
        model: "ClientCredentials",
        id: key,
        payload: expect.objectContaining({
          clientId: CLIENT_ID,
          scope: "tickets:read",
          aud: "support-ext-opaque-api",
        }),
      });
      const ttlMs = (row?.expires_at?.getTime() ?? 0) - Date.now();
      expect(ttlMs).toBeGreaterThan(590_000);
      expect(ttlMs).toBeLessThanOrEqual(600_000);

      // Introspected (RFC 7662): found through the adapter.
      const active = await postForm(discovery.introspection_endpoint, { token });
      expect(active.body).toMatchObject({ active: true, client_id: CLIENT_ID, scope: "tickets:read" });

      // Revoked (RFC 7009): destroyed through the adapter, then no longer active.
      expect((await postForm(discovery.revocation_endpoint, { token })).status).toBe(200);
      expect(await rowsOf("id = $1", [key])).toEqual([]);
      expect((await postForm(discovery.introspection_endpoint, { token })).body).toEqual({ active: false });
    });

    it("a Grant and its tokens round-trip, and revoking one token over HTTP revokes its grant's tokens", async () => {
      const client = (await provider.Client.find(CLIENT_ID)) as Client;
      const issueGrant = async () => {
        const grant = new provider.Grant({ accountId: "user-1", clientId: CLIENT_ID });
        grant.addResourceScope(OPAQUE_API, "tickets:read");
        const grantId = await grant.save();
        const props = {
          accountId: "user-1",
          client,
          grantId,
          gty: "authorization_code",
          scope: "tickets:read",
        };
        const accessTokens = [
          await new provider.AccessToken(props).save(),
          await new provider.AccessToken(props).save(),
        ];
        const refreshToken = await new provider.RefreshToken(props).save();
        return { grantId, accessTokens, refreshToken };
      };
      const mine = await issueGrant();
      const other = await issueGrant();

      expect((await provider.Grant.find(mine.grantId))?.getResourceScope(OPAQUE_API)).toBe("tickets:read");
      expect((await rowsOf("grant_id = $1", [mine.grantId])).map((r) => r.model)).toEqual([
        "AccessToken",
        "AccessToken",
        "RefreshToken",
      ]);

      const [revoked] = mine.accessTokens;
      expect((await postForm(discovery.revocation_endpoint, { token: String(revoked) })).status).toBe(200);

      // Every token of the grant is gone — the refresh token too, although this client's grant types
      // don't include refresh_token (the provider then skips RefreshToken.revokeByGrantId).
      expect(await rowsOf("grant_id = $1", [mine.grantId])).toEqual([]);
      // The Grant itself stays: the provider's default policy keeps it when an access token is revoked.
      expect((await rowsOf("id = $1", [mine.grantId])).map((r) => r.model)).toEqual(["Grant"]);
      // Another grant's rows are untouched.
      expect(await rowsOf("grant_id = $1", [other.grantId])).toHaveLength(3);
      const stillActive = await postForm(discovery.introspection_endpoint, {
        token: String(other.accessTokens[0]),
      });
      expect(stillActive.body).toMatchObject({ active: true, sub: "user-1" });
    });

    it("concurrent refreshes with one refresh token: one gets tokens, the others invalid_grant, none a 500", async () => {
      const client = (await provider.Client.find(RT_CLIENT_ID)) as Client;
      const grant = new provider.Grant({ accountId: "user-2", clientId: RT_CLIENT_ID });
      grant.addResourceScope(API, "tickets:read");
      const grantId = await grant.save();
      const refreshToken = await new provider.RefreshToken({
        accountId: "user-2",
        client,
        grantId,
        gty: "authorization_code",
        scope: "tickets:read",
        resource: API,
      }).save();

      const answers = await Promise.all(
        Array.from({ length: 8 }, () =>
          postForm(
            discovery.token_endpoint,
            { grant_type: "refresh_token", refresh_token: refreshToken },
            RT_CLIENT_ID,
          ),
        ),
      );
      // The provider checks `consumed` before it calls `consume`: requests that found the token
      // unconsumed all pass that check, and the adapter's conditional UPDATE lets exactly one of them
      // through; requests that came after it see `consumed` and are refused by the provider itself
      // (which also revokes the grant, so the winner's new tokens may be gone already).
      expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
      for (const a of answers.filter((a) => a.status !== 200)) {
        expect(a).toEqual({ status: 400, body: expect.objectContaining({ error: "invalid_grant" }) });
      }

      // Presented again later, the spent token is a replay the provider sees itself (`consumed` comes
      // back from `find`): refused, and the grant's tokens, the successor included, revoked.
      const replay = await postForm(
        discovery.token_endpoint,
        { grant_type: "refresh_token", refresh_token: refreshToken },
        RT_CLIENT_ID,
      );
      expect(replay).toEqual({ status: 400, body: expect.objectContaining({ error: "invalid_grant" }) });
      expect(await rowsOf("grant_id = $1", [grantId])).toEqual([]);
    });
  },
);
