import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { mcpHttpFetch } from "#services/mcp-gateway/session/mcp-http-fetch.js";
import { nodeHttpFetch } from "#services/mcp-gateway/session/node-http-fetch.js";
import { sharedSchemaValidator } from "#services/mcp-gateway/session/shared-schema-validator.js";

/** Which revision the direct client speaks: what the gateway negotiates, or the 2025 family's session. */
export type DirectRevision = "auto" | "2025-11-25";

/**
 * The "direct" arm of the gateway bench: the MCP SDK v2 client configured as the gateway's own
 * (docs/mcp-gateway.md, "Protocol revisions": same package, same negotiation, same fetch, same
 * shared schema validator), holding the token the gateway would send. So the arms differ only by
 * the hop: Connect in, authentication, the exchange cache and the session pool. `http`: HTTP/1.1
 * keep-alive (the direct arm), or the gateway's own choice (`mcp-http-fetch.ts`: HTTP/2 to a server
 * that speaks it; the floor gateway).
 */
export async function connectDirect(
  url: URL,
  token: string,
  revision: DirectRevision,
  http: "1.1" | "gateway's" = "1.1",
): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(url, {
    fetch: (u, init) => {
      // One plain object, as the gateway's own fetch builds it (session/authorized-fetch.ts).
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((value, name) => {
        headers[name] = value;
      });
      headers.authorization = `Bearer ${token}`;
      return http === "1.1"
        ? nodeHttpFetch(u, { ...init, headers })
        : mcpHttpFetch("auto", u, { ...init, headers }, 10_000);
    },
  });
  const legacy = revision !== "auto";
  const client = new Client(
    { name: "bench-direct", version: "1.0.0" },
    {
      jsonSchemaValidator: sharedSchemaValidator,
      versionNegotiation: { mode: legacy ? "legacy" : "auto" },
      ...(legacy ? { supportedProtocolVersions: [revision] } : {}),
    },
  );
  await client.connect(transport);
  return client;
}
