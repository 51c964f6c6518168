import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Client as McpClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { McpGatewayService } from "#gen/supportext/mcpgateway/v1/mcp_gateway_pb.js";
import { SERVICE_AUTHORIZATION_HEADER, SERVICE_IDS } from "#kit/auth/index.js";
import { type Config, parseConfig } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import type { ModelProvider } from "#kit/model/index.js";
import { configuredClientCredentials } from "#kit/service/index.js";
import { freePort } from "#kit/testing/free-port.js";
import { captureLogs, type LogCapture } from "#kit/testing/log-capture.js";
import { type RunningAgent, startAgent } from "#services/agent/server.js";
import { type RunningChat, startChat } from "#services/chat/server.js";
import { seedAgentRegistrations } from "#services/identity/agents/agent-registrations.js";
import { type RunningIdentity, startIdentityServer } from "#services/identity/server.js";
import { type RunningGateway, startGateway } from "#services/mcp-gateway/server.js";
import { openMcpDatabase } from "#services/mcp-server/data/open-database.js";
import { type RunningMcpServer, startMcpServer } from "#services/mcp-server/server.js";

/**
 * The real identity provider, chat, MCP server, gateway and agent service on loopback, in this
 * process, on a fresh database (temp DATA_DIR, or unique schemas when DATABASE_URL is set).
 * Nothing is mocked: logins are real, every service authenticates as itself with real client
 * credentials, the gateway exchanges tokens at the real token endpoint with the agent's credential
 * as actor token, every service fetches the real JWKS and follows the real revocation feed.
 */
export interface TestStack {
  readonly identity: RunningIdentity;
  readonly chat: RunningChat;
  readonly gateway: RunningGateway;
  readonly agent: RunningAgent;
  readonly mcpDb: Database;
  readonly config: Config;
  readonly logs: {
    readonly identity: LogCapture;
    readonly chat: LogCapture;
    readonly mcp: LogCapture;
    readonly gateway: LogCapture;
    readonly agent: LogCapture;
  };
  readonly passwords: Readonly<Record<"admin" | "agent" | "viewer", string>>;
  mcp(): RunningMcpServer | undefined;
  /** Registers an agent at the identity provider (the actor and its allow-list), as an administrator would. */
  registerAgent(agentId: string, allowedTools: readonly string[]): Promise<void>;
  login(
    email: string,
    password: string,
  ): Promise<{ accessToken: string; refreshToken: string; userId: string; sessionId: string }>;
  /** Rotates a refresh token at the identity provider: a new access token for the same session. */
  refresh(refreshToken: string): Promise<{ accessToken: string; refreshToken: string }>;
  /**
   * A gateway client over gRPC (h2c) or Connect (HTTP/1.1) that calls as the agent service does:
   * with the agent service's credential naming `agent` (default support-assistant; "" = none at
   * all, as a user calling directly would). Calls still pass the user's token themselves.
   */
  gatewayClient(protocol?: "grpc" | "connect", agent?: string): Client<typeof McpGatewayService>;
  /** The SDK client straight to the MCP server with `token` (for baselines). */
  mcpDirect(token: string): Promise<McpClient>;
  stopMcp(): Promise<void>;
  startMcp(): Promise<void>;
  close(): Promise<void>;
}

export interface TestStackOptions {
  /** The agent service's model (default: the configured one, i.e. the embedded planner). */
  readonly model?: ModelProvider;
}

export async function startTestStack(
  env: Record<string, string> = {},
  options: TestStackOptions = {},
): Promise<TestStack> {
  const dataDir = mkdtempSync(join(tmpdir(), "gateway-test-"));
  const databaseUrl = process.env.DATABASE_URL;
  const suffix = randomBytes(5).toString("hex");
  const passwords = {
    admin: `admin-${randomBytes(9).toString("base64url")}`,
    agent: `agent-${randomBytes(9).toString("base64url")}`,
    viewer: `viewer-${randomBytes(9).toString("base64url")}`,
  };
  const base = {
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    LOG_LEVEL: "debug",
    SHUTDOWN_GRACE: "1s",
    AUTH_ISSUER: "http://identity.test",
    MCP_RESOURCE: "http://mcp.test/mcp",
    GATEWAY_CLIENT_ID: "mcp-gateway",
    GATEWAY_CLIENT_SECRET: `gw-${randomBytes(12).toString("base64url")}`,
    AGENT_CLIENT_SECRET: `ag-${randomBytes(12).toString("base64url")}`,
    MCP_CLIENT_SECRET: `mcp-${randomBytes(12).toString("base64url")}`,
    CHAT_CLIENT_SECRET: `chat-${randomBytes(12).toString("base64url")}`,
    SEED_ADMIN_PASSWORD: passwords.admin,
    SEED_AGENT_PASSWORD: passwords.agent,
    SEED_VIEWER_PASSWORD: passwords.viewer,
    CHAT_PORT: "0",
    IDENTITY_PORT: "0",
    MCP_PORT: "0",
    GATEWAY_PORT: "0",
    // Each service needs the others' addresses before they exist: fixed free ports.
    AGENT_PORT: String(await freePort()),
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...env,
  };
  const level = env.LOG_LEVEL ?? "debug";
  const logs = {
    identity: captureLogs("identity", level),
    chat: captureLogs("chat", level),
    mcp: captureLogs("mcp-server", level),
    gateway: captureLogs("mcp-gateway", level),
    agent: captureLogs("agent", level),
  };

  const agentUrl = `http://127.0.0.1:${base.AGENT_PORT}`;
  const identity = await startIdentityServer(
    parseConfig(base),
    logs.identity.logger,
    databaseUrl ? { databaseSchema: `identity_${suffix}` } : {},
  );
  const jwks = `${identity.url}/.well-known/jwks.json`;
  // Where every other service finds the identity provider: keys, token endpoint, revocation feed.
  const atIdentity = {
    AUTH_JWKS_URL: jwks,
    AUTH_TOKEN_URL: `${identity.url}/oauth2/token`,
    IDENTITY_URL: identity.url,
  };
  const mcpConfig = parseConfig({ ...base, ...atIdentity });
  const mcpDb = await openMcpDatabase(mcpConfig, databaseUrl ? { schema: `mcp_${suffix}` } : {});
  let mcp: RunningMcpServer | undefined = await startMcpServer(mcpConfig, logs.mcp.logger, {
    database: mcpDb,
  });
  const mcpPort = mcp.port;
  const mcpUrl = `${mcp.url}/mcp`;

  const config = parseConfig({
    ...base,
    ...atIdentity,
    MCP_URL: mcpUrl,
    AGENT_URL: agentUrl,
    MCP_CONNECT_TIMEOUT: env.MCP_CONNECT_TIMEOUT ?? "5s",
    MCP_CALL_TIMEOUT: env.MCP_CALL_TIMEOUT ?? "10s",
  });
  const gateway = await startGateway(config, logs.gateway.logger);
  const agent = await startAgent({ ...config, GATEWAY_URL: gateway.url }, logs.agent.logger, {
    ...(options.model ? { model: options.model } : {}),
    ...(databaseUrl ? { databaseSchema: `agent_${suffix}` } : {}),
  });
  const chat = await startChat(
    { ...config, AGENT_URL: agent.url },
    logs.chat.logger,
    databaseUrl ? { databaseSchema: `chat_${suffix}` } : {},
  );
  const agentCredentials = configuredClientCredentials(config, SERVICE_IDS.agent);
  const asAgent =
    (agentId: string): Interceptor =>
    (next) =>
    async (req) => {
      req.header.set(
        SERVICE_AUTHORIZATION_HEADER,
        `Bearer ${await agentCredentials.tokenFor(SERVICE_IDS.gateway, agentId)}`,
      );
      return next(req);
    };
  const auth = createClient(AuthService, createConnectTransport({ baseUrl: identity.url, httpVersion: "2" }));

  return {
    identity,
    chat,
    gateway,
    agent,
    mcpDb,
    config,
    logs,
    passwords,
    mcp: () => mcp,
    registerAgent: (agentId, allowedTools) =>
      seedAgentRegistrations(identity.database, [{ agentId, allowedTools }]),
    async login(email, password) {
      const res = await auth.login({ email, password });
      return {
        accessToken: res.tokens?.accessToken ?? "",
        refreshToken: res.tokens?.refreshToken ?? "",
        userId: res.user?.id ?? "",
        sessionId: res.sessionId,
      };
    },
    async refresh(refreshToken) {
      const res = await auth.refresh({ refreshToken });
      return { accessToken: res.tokens?.accessToken ?? "", refreshToken: res.tokens?.refreshToken ?? "" };
    },
    gatewayClient(protocol = "grpc", agentId = "support-assistant") {
      const interceptors = agentId ? [asAgent(agentId)] : [];
      const transport =
        protocol === "grpc"
          ? createGrpcTransport({ baseUrl: gateway.url, acceptCompression: [], interceptors })
          : createConnectTransport({
              baseUrl: gateway.url,
              httpVersion: "1.1",
              acceptCompression: [],
              interceptors,
            });
      return createClient(McpGatewayService, transport);
    },
    async mcpDirect(token) {
      const client = new McpClient({ name: "direct", version: "1.0.0" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(mcpUrl), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      return client;
    },
    async stopMcp() {
      await mcp?.close();
      mcp = undefined;
    },
    async startMcp() {
      mcp = await startMcpServer(
        parseConfig({ ...base, ...atIdentity, MCP_PORT: String(mcpPort) }),
        logs.mcp.logger,
        {
          database: mcpDb,
        },
      );
    },
    async close() {
      await chat.close();
      await agent.close();
      await gateway.close();
      await mcp?.close();
      await mcpDb.close();
      await identity.close();
    },
  };
}
