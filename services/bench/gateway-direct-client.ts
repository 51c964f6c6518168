import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { nodeHttpFetch } from "#services/mcp-gateway/session/node-http-fetch.js";
import { sharedSchemaValidator } from "#services/mcp-gateway/session/shared-schema-validator.js";

/** Which revision the direct client speaks: what the gateway negotiates, or the 2025 family's session. */
export type DirectRevision = "auto" | "2025-11-25";

/**
 * The "direct" arm of the gateway bench: the MCP SDK v2 client configured as the gateway's own
 * (docs/mcp-gateway.md, "Protocol revisions": same package, same negotiation, same fetch, same
 * shared schema validator), holding the token the gateway would send. So the arms differ only by
 * the hop: Connect in, authentication, the exchange cache and the session pool.
 */
export async function connectDirect(url: URL, token: string, revision: DirectRevision): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(url, {
    fetch: (u, init) => {
      const headers = new Headers(init?.headers);
      headers.set("authorization", `Bearer ${token}`);
      return nodeHttpFetch(u, { ...init, headers });
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
