import { protectedResourceMetadataUrl, type TokenVerifier } from "#kit/auth/index.js";
import type { Config } from "#kit/config/index.js";
import type { Logger } from "#kit/log/index.js";
import type { ServingAdditions } from "#kit/server/index.js";
import {
  awaitFirstSnapshot,
  createConfiguredVerifier,
  databaseDependency,
  revocationFeedDependency,
} from "#kit/service/index.js";
import { createHostOriginGuard, defaultAllowLists } from "../http/host-origin-guard.js";
import { createMcpRequestGuard } from "../http/request-guard.js";
import { createMcpHttp } from "./mcp-http.js";
import type { McpParts } from "./mcp-parts.js";

/** What the server serves once it knows the port it bound. */
export interface McpServing {
  /** This server's resource URI: the audience its tokens must carry. */
  readonly resourceUri: string;
  readonly audience: string | string[];
  readonly allow: { readonly hosts: readonly string[]; readonly origins: readonly string[] };
  readonly additions: ServingAdditions;
}

/**
 * The start-up work that needs the bound port — with MCP_PORT=0 (tests) the resource URI takes
 * it, so tokens can be minted for it — done while the kit's port answers 503 `starting`: the
 * revocation feed's first snapshot, the audit chain checked against the witness (a broken chain
 * is logged as an error and stops the checkpoints; it is never re-sealed), then the routes.
 */
export async function prepareMcpServing(
  config: Config,
  logger: Logger,
  parts: McpParts,
  port: number,
  verifierOverride: TokenVerifier | undefined,
): Promise<McpServing> {
  const resourceUri = config.MCP_RESOURCE.replace(/:0(?=\/|$)/, `:${port}`);
  const resource = new URL(resourceUri);
  // Audience = this server (RFC 8707); the API audience too only in passthrough compatibility mode.
  const audience = config.MCP_PASSTHROUGH_AUDIENCE ? [resourceUri, config.API_AUDIENCE] : resourceUri;
  const verifier = verifierOverride ?? createConfiguredVerifier(config, parts.keys, audience);
  const allow = defaultAllowLists(
    resource,
    { host: config.HOST, port },
    { hosts: config.MCP_ALLOWED_HOSTS, origins: config.MCP_ALLOWED_ORIGINS },
  );
  const guard = createHostOriginGuard(allow.hosts, allow.origins);
  await awaitFirstSnapshot(parts.revocations, config, logger);
  await parts.checkpointer.start();
  const http = await createMcpHttp(config, logger, parts, {
    resourceUri,
    resource,
    resourceMetadataUrl: protectedResourceMetadataUrl(resource),
    verifier,
    guard,
  });
  return {
    resourceUri,
    audience,
    allow,
    additions: {
      httpRoutes: http.routes,
      guard: createMcpRequestGuard(guard, logger),
      dependencies: [databaseDependency(parts.database), revocationFeedDependency(parts.revocations)],
      // Open 2025 sessions hold SSE streams: closed first, so the drain waits only for calls.
      drain: async () => {
        await parts.sessions.closeAll();
        await http.close();
      },
    },
  };
}
