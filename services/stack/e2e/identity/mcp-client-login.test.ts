import { Client, StreamableHTTPClientTransport, UnauthorizedError } from "@modelcontextprotocol/client";
import { UnauthorizedError as V1UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as V1Transport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOOL_SCOPES } from "#kit/contract/index.js";
import { loginThroughPage } from "#services/identity/oauth/testing/login-browser.js";
import { InMemoryOAuthProvider } from "#services/identity/oauth/testing/recording-provider.js";
import { type OAuthStack, startOAuthStack } from "../../testing/oauth-stack.js";

/**
 * A full login as a real MCP client does it, driven by the SDK's own OAuth client
 * (`@modelcontextprotocol/client` 2.x, written by nobody here): 401 from the MCP server →
 * protected-resource metadata → authorization-server metadata → registration → the login page
 * over HTTP (the form posted) → token → tools/list shows that user's tools.
 */
let stack: OAuthStack;
// Two services with fresh embedded databases: slow on a loaded machine, hence the generous bound.
beforeAll(async () => {
  stack = await startOAuthStack();
}, 240_000);
afterAll(async () => {
  await stack?.close();
});

function recordingFetch(seen: string[]): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    seen.push(
      `${init?.method ?? (input instanceof Request ? input.method : "GET")} ${url.host === new URL(stack.mcpUrl).host ? "mcp" : "chat"}${url.pathname} ${res.status}`,
    );
    return res;
  };
}

describe("an MCP client logs in with nothing but the server's URL", () => {
  it("viewer: discovery, registration, login page, token; tools/list shows only the viewer's tools; audited with the client", async () => {
    const seen: string[] = [];
    const provider = new InMemoryOAuthProvider("http://127.0.0.1:4799/callback");
    const transport = () =>
      new StreamableHTTPClientTransport(new URL(stack.mcpUrl), {
        authProvider: provider,
        fetch: recordingFetch(seen),
      });

    const first = new Client({ name: "oauth-login-test", version: "1.0.0" });
    const failed = await first.connect(transport()).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(UnauthorizedError);
    expect(provider.authorizationUrl?.origin).toBe(stack.identity.url);

    // The user's browser: the login page, the form posted, the redirect back to the client.
    const back = await loginThroughPage(provider.authorizationUrl?.href ?? "", {
      email: "viewer@company.com",
      password: stack.passwords.viewer,
    });
    expect(back.origin + back.pathname).toBe("http://127.0.0.1:4799/callback");
    const exchange = transport();
    await exchange.finishAuth(back.searchParams);

    const client = new Client({ name: "oauth-login-test", version: "1.0.0" });
    await client.connect(transport());
    const { tools } = await client.listTools();
    const viewerTools = Object.entries(TOOL_SCOPES)
      .filter(([, scope]) => scope === "tickets:read" || scope === "integrations:read")
      .map(([name]) => name)
      .sort();
    expect(tools.map((t) => t.name).sort()).toEqual(viewerTools);

    const steps = seen;
    const order = [
      /^POST mcp\/mcp 401$/,
      /^GET mcp\/\.well-known\/oauth-protected-resource\/mcp 200$/,
      /^GET chat\/\.well-known\/oauth-authorization-server 200$/,
      /^POST chat\/oauth2\/register 201$/,
      /^POST chat\/oauth2\/token 200$/,
      /^POST mcp\/mcp 200$/,
    ];
    let at = 0;
    for (const step of steps) if (order[at]?.test(step)) at++;
    expect(at, steps.join("\n")).toBe(order.length);

    const tokens = provider.tokens();
    const clientId = provider.clientInformation()?.client_id;
    const claims = jose.decodeJwt(tokens?.access_token ?? "");
    expect(claims).toMatchObject({
      aud: stack.mcpUrl,
      scope: "tickets:read integrations:read",
      email: "viewer@company.com",
      act: { sub: clientId },
    });

    await client.callTool({ name: "list_tickets", arguments: {} });
    const rows = await stack.mcpDb.query<{ actor_sub: string; email: string }>(
      "SELECT actor_sub, email FROM audit_log WHERE tool = 'list_tickets' ORDER BY seq DESC LIMIT 1",
    );
    expect(rows.rows[0]).toEqual({ actor_sub: clientId, email: "viewer@company.com" });

    // The code replayed (an interceptor would): refused, and what it issued is revoked — the
    // client's token stops working at the MCP server once the revocation feed delivers it.
    const replayedAt = performance.now();
    const replay = await fetch(`${stack.identity.url}/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: clientId ?? "",
        code: back.searchParams.get("code") ?? "",
        redirect_uri: "http://127.0.0.1:4799/callback",
        code_verifier: provider.codeVerifier(),
      }),
    });
    expect([replay.status, ((await replay.json()) as { error: string }).error]).toEqual([
      400,
      "invalid_grant",
    ]);
    const direct = () =>
      fetch(stack.mcpUrl, {
        method: "POST",
        headers: {
          authorization: `Bearer ${tokens?.access_token}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-protocol-version": "2025-11-25",
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      });
    let status = (await direct()).status;
    for (let i = 0; i < 100 && status !== 401; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (await direct()).status;
    }
    expect(status).toBe(401);
    console.log(
      `code reuse → the MCP client's grant revoked → its token refused at the MCP server within ${(performance.now() - replayedAt).toFixed(1)} ms (polled every 50 ms)`,
    );
    await client.close();
  }, 120_000);

  it("the 1.x SDK's auth() (@modelcontextprotocol/sdk): same flow, the support agent's twelve tools", async () => {
    const provider = new InMemoryOAuthProvider("http://localhost:4800/oauth/callback");
    const transport = () => new V1Transport(new URL(stack.mcpUrl), { authProvider: provider });
    const failed = await new V1Client({ name: "oauth-login-v1", version: "1.0.0" })
      .connect(transport())
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(V1UnauthorizedError);
    const back = await loginThroughPage(provider.authorizationUrl?.href ?? "", {
      email: "agent@company.com",
      password: stack.passwords.agent,
    });
    await transport().finishAuth(back.searchParams.get("code") ?? "");
    const client = new V1Client({ name: "oauth-login-v1", version: "1.0.0" });
    await client.connect(transport());
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).not.toContain("delete_ticket");
    expect(tools).toHaveLength(12);
    expect(jose.decodeJwt(provider.tokens()?.access_token ?? "").act).toEqual({
      sub: provider.clientInformation()?.client_id,
    });
    await client.close();
  }, 120_000);
});
