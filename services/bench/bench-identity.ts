import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { SERVICE_IDS } from "#kit/auth/index.js";
import { ROLE_SCOPES } from "#kit/contract/index.js";
import { createLogger } from "#kit/log/index.js";
import { startFakeRevocationFeed } from "#kit/revocation/testing/fake-revocation-feed.js";
import { freePort } from "#kit/testing/free-port.js";
import type { TestIssuer } from "#kit/testing/test-issuer.js";

/**
 * What the MCP server needs of an identity provider besides its JWKS, for a benchmark that runs it
 * alone: a client-credentials token endpoint (its service token, minted by the test issuer) and the
 * revocation feed it subscribes to with that token (the kit's scriptable RevocationService). The
 * MCP server fails closed without a live feed (docs/architecture.md, "The delegation chain").
 */
export async function startBenchIdentity(issuer: TestIssuer) {
  const tokens = http.createServer((req, res) => {
    if (req.method !== "POST" || req.url !== "/oauth2/token") {
      res.writeHead(404).end();
      return;
    }
    req.resume();
    req.on("end", async () => {
      // The MCP server asks for it to Watch the identity service's revocation feed, so its audience
      // is that service (docs/identity.md, "Revocation at the edge").
      const token = await issuer.mint({ sub: SERVICE_IDS.mcpServer, aud: SERVICE_IDS.identity, scope: "" });
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify({ access_token: token, token_type: "Bearer", expires_in: 300 }));
    });
  });
  await new Promise<void>((r) => tokens.listen(0, "127.0.0.1", r));
  const feed = await startFakeRevocationFeed({
    logger: createLogger({ service: "bench-feed", level: "error" }),
    heartbeatMs: 2_000,
    port: await freePort(),
  });
  return {
    /** Settings for the MCP server process. */
    env: {
      AUTH_TOKEN_URL: `http://127.0.0.1:${(tokens.address() as AddressInfo).port}/oauth2/token`,
      IDENTITY_URL: feed.url,
    },
    async close() {
      await feed.stop();
      await new Promise<void>((r) => tokens.close(() => r()));
    },
  };
}

/**
 * The caller the gateway makes of the MCP server, as the MCP benches mint it: a viewer's exchanged
 * token for `resource` (the viewer's scopes, and `act` naming the gateway and its agent).
 */
export function exchangedReaderClaims(resource: string) {
  return {
    sub: "u-bench-reader",
    email: "reader@company.com",
    roles: ["viewer"],
    scope: ROLE_SCOPES.viewer.join(" "),
    aud: resource,
    act: { sub: "mcp-gateway", agent: "ticket-reader" },
  };
}
