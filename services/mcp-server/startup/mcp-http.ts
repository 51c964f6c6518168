import {
  protectedResourceMetadata,
  protectedResourceMetadataPaths,
  type TokenVerifier,
} from "#kit/auth/index.js";
import type { Config } from "#kit/config/index.js";
import { SCOPES } from "#kit/contract/index.js";
import type { Logger } from "#kit/log/index.js";
import type { HttpRoutes } from "#kit/server/index.js";
import { createAuthenticator } from "../auth/authenticate.js";
import { eitherAudience } from "../auth/either-verifier.js";
import { createSeenUserRecorder } from "../data/seen-users.js";
import { createAuditEndpoint } from "../http/audit-endpoint.js";
import type { HostOriginGuard } from "../http/host-origin-guard.js";
import { createMcpEndpoint } from "../http/mcp-endpoint.js";
import { createMcpRoutes } from "../http/mcp-routes.js";
import { createConfirmationCodec } from "../mcp/confirmation.js";
import { createProtocolServer } from "../mcp/protocol-server.js";
import type { McpParts } from "./mcp-parts.js";

/** The most a POST to `/mcp` may carry. */
const MAX_BODY_BYTES = 1024 * 1024;
export const AUDIT_PATH = "/admin/audit";

/** The resource this server is, as its routes need it. */
export interface McpResource {
  /** As configured, with the bound port: the audience and the metadata's `resource`. */
  readonly resourceUri: string;
  readonly resource: URL;
  readonly resourceMetadataUrl: string;
  /** Verifies MCP tokens (audience: this server). */
  readonly verifier: TokenVerifier;
  readonly guard: HostOriginGuard;
}

/** The plain-HTTP routes (`/mcp`, the RFC 9728 metadata, `/admin/audit`) and what closes them. */
export async function createMcpHttp(
  config: Config,
  logger: Logger,
  parts: McpParts,
  at: McpResource,
): Promise<{ routes: HttpRoutes; close: () => Promise<void> }> {
  const authenticatorFor = (verifier: TokenVerifier) =>
    createAuthenticator({ verifier, logger, devAnonymous: config.AUTH_DEV_ANONYMOUS, ...parts.revocation });
  const confirmations = await createConfirmationCodec(parts.database);
  const version = parts.versions.service ?? "0.0.0";
  const handleMcp = createMcpEndpoint({
    authenticate: authenticatorFor(at.verifier),
    recordUser: createSeenUserRecorder(parts.database, logger),
    sessions: parts.sessions,
    catalog: parts.catalog,
    createServer: () =>
      createProtocolServer({
        catalog: parts.catalog,
        runTool: parts.runTool,
        version,
        logger,
        confirmations,
      }),
    audit: parts.audit,
    logger,
    resource: at.resource,
    resourceMetadataUrl: at.resourceMetadataUrl,
    maxBodyBytes: MAX_BODY_BYTES,
    telemetry: parts.telemetry,
  });
  const routes = createMcpRoutes({
    logger,
    guard: at.guard,
    mcpPaths: new Set(["/mcp", "/mcp/", at.resource.pathname]),
    handleMcp,
    metadataPaths: protectedResourceMetadataPaths(at.resource),
    metadata: protectedResourceMetadata({
      resource: at.resourceUri,
      issuer: config.AUTH_ISSUER,
      scopes: SCOPES,
    }),
    auditPath: AUDIT_PATH,
    handleAudit: createAuditEndpoint({
      // An administrator's own login token (audience API_AUDIENCE) opens the audit trail, never /mcp.
      authenticate: authenticatorFor(eitherAudience(at.verifier, parts.apiVerifier)),
      db: parts.database,
      logger,
      resourceMetadataUrl: at.resourceMetadataUrl,
    }),
  });
  return { routes, close: () => handleMcp.close() };
}
