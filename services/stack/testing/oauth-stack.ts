import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import { freePort } from "#kit/testing/free-port.js";
import { captureLogs, type LogCapture } from "#kit/testing/log-capture.js";
import { type RunningIdentity, startIdentityServer } from "#services/identity/server.js";
import { openMcpDatabase } from "#services/mcp-server/data/open-database.js";
import { type RunningMcpServer, startMcpServer } from "#services/mcp-server/server.js";

/**
 * The identity provider and the MCP server on loopback as a real MCP client meets them: the
 * issuer is the identity service's real URL and the resource the MCP server's real URL (an MCP client checks
 * both against what it fetched), fresh databases, random seed passwords and secrets.
 */
export interface OAuthStack {
  readonly identity: RunningIdentity;
  readonly mcp: RunningMcpServer;
  readonly mcpUrl: string;
  readonly mcpDb: Database;
  readonly passwords: Readonly<Record<"admin" | "agent" | "viewer", string>>;
  readonly logs: { readonly identity: LogCapture; readonly mcp: LogCapture };
  close(): Promise<void>;
}

/** `metadataDocumentCa`: the certificate loopback metadata-document servers of the test present. */
export async function startOAuthStack(options: { metadataDocumentCa?: string } = {}): Promise<OAuthStack> {
  const dataDir = await mkdtemp(join(tmpdir(), "oauth-stack-"));
  const databaseUrl = process.env.DATABASE_URL;
  const suffix = randomBytes(5).toString("hex");
  const [identityPort, mcpPort] = [await freePort(), await freePort()];
  const passwords = {
    admin: `admin-${randomBytes(9).toString("base64url")}`,
    agent: `agent-${randomBytes(9).toString("base64url")}`,
    viewer: `viewer-${randomBytes(9).toString("base64url")}`,
  };
  const identityUrl = `http://127.0.0.1:${identityPort}`;
  const mcpUrl = `http://127.0.0.1:${mcpPort}/mcp`;
  const env = {
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    LOG_LEVEL: "debug",
    SHUTDOWN_GRACE: "1s",
    IDENTITY_PORT: String(identityPort),
    MCP_PORT: String(mcpPort),
    AUTH_ISSUER: identityUrl,
    MCP_RESOURCE: mcpUrl,
    GATEWAY_CLIENT_SECRET: `gw-${randomBytes(12).toString("base64url")}`,
    AGENT_CLIENT_SECRET: `ag-${randomBytes(12).toString("base64url")}`,
    MCP_CLIENT_SECRET: `mcp-${randomBytes(12).toString("base64url")}`,
    SEED_ADMIN_PASSWORD: passwords.admin,
    SEED_AGENT_PASSWORD: passwords.agent,
    SEED_VIEWER_PASSWORD: passwords.viewer,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
  const config = parseConfig(env);
  const logs = { identity: captureLogs("identity"), mcp: captureLogs("mcp-server") };
  const identity = await startIdentityServer(config, logs.identity.logger, {
    ...(databaseUrl ? { databaseSchema: `identity_${suffix}` } : {}),
    ...(options.metadataDocumentCa
      ? { oauth: { metadataDocuments: { loopbackCa: options.metadataDocumentCa } } }
      : {}),
  });
  const mcpDb = await openMcpDatabase(config, databaseUrl ? { schema: `mcp_${suffix}` } : {});
  const mcp = await startMcpServer(config, logs.mcp.logger, { database: mcpDb });
  return {
    identity,
    mcp,
    mcpUrl,
    mcpDb,
    passwords,
    logs,
    async close() {
      await mcp.close();
      await mcpDb.close();
      await identity.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
