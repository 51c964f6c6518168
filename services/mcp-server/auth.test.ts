import { OAuthProtectedResourceMetadataSchema } from "@modelcontextprotocol/sdk/shared/auth.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthFailureReason } from "#kit/auth/index.js";
import { ADMIN, type Harness, initializeBody, startHarness } from "./testing/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const createCall = (title: string) => ({
  jsonrpc: "2.0",
  id: 2,
  method: "tools/call",
  params: { name: "create_ticket", arguments: { title } },
});

describe("bearer authentication on every MCP request", () => {
  it("serves RFC 9728 protected-resource metadata that names this resource and its issuer", async () => {
    const res = await fetch(`${h.server.url}/.well-known/oauth-protected-resource/mcp`);
    expect(res.status).toBe(200);
    const doc = OAuthProtectedResourceMetadataSchema.parse(await res.json());
    expect(doc.resource).toBe(h.server.resource);
    expect(doc.resource).toBe(`${h.server.url}/mcp`);
    expect(doc.authorization_servers).toEqual([h.issuer.issuer]);
    expect(doc.scopes_supported).toEqual([
      "tickets:read",
      "tickets:write",
      "tickets:delete",
      "integrations:read",
      "system:read",
      "audit:read",
    ]);
    expect(doc.bearer_methods_supported).toEqual(["header"]);
  });

  it("answers a request without a token 401 with a resource_metadata challenge and the original warning", async () => {
    const tickets = await h.count("SELECT count(*) AS n FROM tickets");
    const mark = h.logs.lines.length;
    for (const body of [initializeBody(), createCall("no token")]) {
      const res = await h.post(body);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe(
        `Bearer resource_metadata="${h.server.url}/.well-known/oauth-protected-resource/mcp"`,
      );
      expect(await res.json()).toMatchObject({ reason: "missing_token" });
    }
    const lines = h.logs.records().slice(mark);
    expect(
      lines.filter((l) => l.msg === "MCP tool call missing Authorization header" && l.level === "warn"),
    ).toHaveLength(2);
    expect(await h.count("SELECT count(*) AS n FROM tickets")).toBe(tickets);
    // A GET (SSE stream) and a DELETE are authenticated too.
    expect((await fetch(h.mcpUrl, { headers: { accept: "text/event-stream" } })).status).toBe(401);
    expect((await fetch(h.mcpUrl, { method: "DELETE" })).status).toBe(401);
  });

  const matrix: [string, () => Promise<string>, AuthFailureReason][] = [
    ["malformed (not a JWT)", () => h.issuer.forge("not_a_jwt"), "malformed"],
    // Parts that cannot occur by chance in a log line (hex trace and request ids contain "def").
    ["malformed (garbage parts)", async () => "abc.garbage-payload.ghi", "malformed"],
    ["bad signature", () => h.issuer.forge("bad_signature", { aud: h.server.resource }), "bad_signature"],
    ["alg none", () => h.issuer.forge("alg_none", { aud: h.server.resource }), "unsigned_token"],
    [
      "HS256 with the public key",
      () => h.issuer.forge("hs256_with_public_key", { aud: h.server.resource }),
      "algorithm_not_allowed",
    ],
    [
      "expired",
      () => h.issuer.mint({ ...adminClaims(), aud: h.server.resource }, { expiresIn: -60 }),
      "expired",
    ],
    [
      "wrong audience (the API's)",
      () => h.issuer.mint({ ...adminClaims(), aud: "support-ext-api" }),
      "wrong_audience",
    ],
    [
      "wrong audience (another MCP server)",
      () => h.issuer.mint({ ...adminClaims(), aud: "http://127.0.0.1:9/mcp" }),
      "wrong_audience",
    ],
    [
      "wrong issuer",
      () => h.issuer.mint({ ...adminClaims(), aud: h.server.resource }, { issuer: "https://evil.example" }),
      "wrong_issuer",
    ],
    [
      "unknown kid",
      () => h.issuer.forge("unknown_kid", { ...adminClaims(), aud: h.server.resource }),
      "unknown_key",
    ],
    [
      "not an access token (typ JWT)",
      () => h.issuer.mint({ ...adminClaims(), aud: h.server.resource }, { typ: "JWT" }),
      "wrong_type",
    ],
  ];
  function adminClaims() {
    return { sub: ADMIN.sub, email: ADMIN.email, roles: ADMIN.roles, scope: ADMIN.scope };
  }

  for (const [name, make, reason] of matrix) {
    it(`refuses a token that is ${name}: 401 invalid_token (${reason}), its log line, no tool runs`, async () => {
      const token = await make();
      const tickets = await h.count("SELECT count(*) AS n FROM tickets");
      const audits = await h.count("SELECT count(*) AS n FROM audit_log");
      const mark = h.logs.lines.length;
      for (const body of [initializeBody(), createCall(`forged ${reason}`)]) {
        const res = await h.post(body, { authorization: `Bearer ${token}` });
        expect(res.status).toBe(401);
        const challenge = res.headers.get("www-authenticate") ?? "";
        expect(challenge).toMatch(
          new RegExp(`^Bearer error="invalid_token", error_description="${reason}: `),
        );
        expect(challenge).toContain(
          `resource_metadata="${h.server.url}/.well-known/oauth-protected-resource/mcp"`,
        );
        const body401 = (await res.json()) as { error: string; reason: string; error_description: string };
        expect(body401).toMatchObject({ error: "invalid_token", reason });
        expect(body401.error_description).not.toContain(token);
      }
      const lines = h.logs.records().slice(mark);
      expect(
        lines.filter((l) => l.msg === `Authentication failed: ${reason}` && l.level === "warn"),
      ).toHaveLength(2);
      expect(lines.some((l) => String(l.msg).startsWith("MCP tool authenticated"))).toBe(false);
      expect(h.logs.lines.slice(mark).join("\n")).not.toContain(token.split(".")[1] || token);
      expect(await h.count("SELECT count(*) AS n FROM tickets")).toBe(tickets);
      expect(await h.count("SELECT count(*) AS n FROM audit_log")).toBe(audits);
    });
  }

  it("refuses a bad token even inside a valid session, and the session's owner carries on", async () => {
    const owner = await h.connect(await h.token(ADMIN));
    const sessionId = (owner.transport as { sessionId?: string }).sessionId ?? "";
    const expired = await h.issuer.mint({ ...adminClaims(), aud: h.server.resource }, { expiresIn: -60 });
    const res = await h.post(createCall("inside a session"), {
      authorization: `Bearer ${expired}`,
      "mcp-session-id": sessionId,
      "mcp-protocol-version": "2025-11-25",
    });
    expect(res.status).toBe(401);
    expect((await owner.listTools()).tools).toHaveLength(13);
  });

  it("refuses a non-Bearer Authorization header as malformed", async () => {
    const res = await h.post(initializeBody(), { authorization: "Basic YWRtaW46cGFzc3dvcmQ=" });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ reason: "malformed" });
  });

  it("logs the authenticated line for a good token, with the user id on the line", async () => {
    const mark = h.logs.lines.length;
    const res = await h.post(initializeBody(), { authorization: `Bearer ${await h.token(ADMIN)}` });
    expect(res.status).toBe(200);
    expect(res.headers.get("mcp-session-id")).toMatch(/^[0-9a-f-]{36}$/);
    const line = h.logs
      .records()
      .slice(mark)
      .find((l) => l.msg === `MCP tool authenticated for user ${ADMIN.sub}`);
    expect(line).toMatchObject({ level: "info", user_id: ADMIN.sub });
  });
});

describe("Host and Origin allow-lists (DNS rebinding)", () => {
  it("refuses a foreign Host", async () => {
    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        h.mcpUrl,
        { method: "POST", headers: { host: "evil.example:80", "content-type": "application/json" } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify(initializeBody()));
    });
    expect(status).toBe(403);
  });

  it("refuses a browser Origin that is not allowed, before looking at the token", async () => {
    const res = await h.post(initializeBody(), {
      origin: "https://evil.example",
      authorization: `Bearer ${await h.token(ADMIN)}`,
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /Origin "https:\/\/evil.example" is not allowed/,
    );
  });

  it("accepts the resource's own origin and requests without an Origin", async () => {
    const token = await h.token(ADMIN);
    expect(
      (await h.post(initializeBody(), { origin: h.server.url, authorization: `Bearer ${token}` })).status,
    ).toBe(200);
    expect((await h.post(initializeBody(), { authorization: `Bearer ${token}` })).status).toBe(200);
  });
});

describe("audience configuration", () => {
  it("accepts the API audience too only with MCP_PASSTHROUGH_AUDIENCE=1", async () => {
    const passthrough = await startHarness({ env: { MCP_PASSTHROUGH_AUDIENCE: "1" } });
    try {
      const apiToken = await passthrough.issuer.mint({
        sub: ADMIN.sub,
        email: ADMIN.email,
        scope: ADMIN.scope,
        aud: "support-ext-api",
      });
      expect((await passthrough.post(initializeBody(), { authorization: `Bearer ${apiToken}` })).status).toBe(
        200,
      );
      const other = await passthrough.issuer.mint({
        sub: ADMIN.sub,
        email: ADMIN.email,
        aud: "someone-else",
      });
      expect((await passthrough.post(initializeBody(), { authorization: `Bearer ${other}` })).status).toBe(
        401,
      );
    } finally {
      await passthrough.close();
    }
    // …and the default server of this file refuses it (matrix above: "wrong audience (the API's)").
  });

  it("reports an unreachable JWKS as 503, not as a bad token", async () => {
    const dead = await startHarness({ env: { AUTH_JWKS_URL: "http://127.0.0.1:1/.well-known/jwks.json" } });
    try {
      const res = await dead.post(initializeBody(), { authorization: `Bearer ${await dead.token(ADMIN)}` });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ reason: "jwks_unavailable" });
      expect(dead.logs.records().some((l) => l.msg === "Authentication failed: jwks_unavailable")).toBe(true);
      // The audit path answers the same way: an outage, not an invalid_token challenge.
      const audit = await fetch(`${dead.server.url}/admin/audit`, {
        headers: { authorization: `Bearer ${await dead.token(ADMIN)}` },
      });
      expect(audit.status).toBe(503);
      expect(audit.headers.get("www-authenticate")).toBeNull();
      expect(audit.headers.get("retry-after")).toBe("5");
    } finally {
      await dead.close();
    }
  });
});
