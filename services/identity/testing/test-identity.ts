import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { type Config, parseConfig } from "#kit/config/index.js";
import { captureLogs, type LogCapture } from "#kit/testing/log-capture.js";
import type { AgentDirectory } from "../agents/agent-directory.js";
import type { AuthorizationServerTestOptions } from "../provider/authorization-server.js";
import { type RunningIdentity, startIdentityServer } from "../server.js";

/** The identity service started in-process for a test, on a free loopback port and its own database. */
export interface TestIdentity {
  readonly config: Config;
  /** The environment the config was parsed from (for the rotate-keys command). */
  readonly env: Readonly<Record<string, string>>;
  /** PostgreSQL schema when DATABASE_URL is set, else undefined (PGlite in a temp DATA_DIR). */
  readonly schema: string | undefined;
  readonly logs: LogCapture;
  readonly passwords: { readonly admin: string; readonly agent: string; readonly viewer: string };
  /** Changes on every start (port 0). */
  readonly url: string;
  readonly auth: Client<typeof AuthService>;
  readonly running: RunningIdentity;
  start(): Promise<void>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the process and deletes its data (temp directory or schema). */
  dispose(): Promise<void>;
}

export const TEST_ISSUER = "http://identity.test";
export const TEST_MCP_RESOURCE = "http://mcp.test/mcp";
export const TEST_GATEWAY_ID = "mcp-gateway";

/**
 * Starts the identity service with a fresh temp DATA_DIR, or a fresh schema on DATABASE_URL when that is set (so
 * the same tests run on both back ends). Seed passwords and client secrets are random per run,
 * which makes "this secret appears in no log line" a meaningful assertion.
 */
export async function startTestIdentity(
  env: Record<string, string> = {},
  options: {
    keyReloadIntervalMs?: number;
    /** The registered agents, instead of the stored registrations. */
    agentDirectory?: AgentDirectory;
    /** The authorization server's test seams (metadata document resolver, registration cap). */
    oauth?: AuthorizationServerTestOptions;
  } = {},
): Promise<TestIdentity> {
  const dataDir = await mkdtemp(join(tmpdir(), "identity-test-"));
  const databaseUrl = process.env.DATABASE_URL;
  const schema = databaseUrl ? `identity_test_${randomBytes(6).toString("hex")}` : undefined;
  const passwords = {
    admin: `admin-${randomBytes(9).toString("base64url")}`,
    agent: `agent-${randomBytes(9).toString("base64url")}`,
    viewer: `viewer-${randomBytes(9).toString("base64url")}`,
  };
  const fullEnv: Record<string, string> = {
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    IDENTITY_PORT: "0",
    DATA_DIR: dataDir,
    LOG_LEVEL: "debug",
    // Clients keep idle keep-alive connections; the kit's close waits for them up to the grace.
    SHUTDOWN_GRACE: "1s",
    AUTH_ISSUER: TEST_ISSUER,
    MCP_RESOURCE: TEST_MCP_RESOURCE,
    GATEWAY_CLIENT_ID: TEST_GATEWAY_ID,
    GATEWAY_CLIENT_SECRET: `gw-${randomBytes(12).toString("base64url")}`,
    AGENT_CLIENT_SECRET: `ag-${randomBytes(12).toString("base64url")}`,
    MCP_CLIENT_SECRET: `mcp-${randomBytes(12).toString("base64url")}`,
    CHAT_CLIENT_SECRET: `chat-${randomBytes(12).toString("base64url")}`,
    SEED_ADMIN_PASSWORD: passwords.admin,
    SEED_AGENT_PASSWORD: passwords.agent,
    SEED_VIEWER_PASSWORD: passwords.viewer,
    // The service here and `npm run rotate-keys` beside it seal and open keys with the same secret.
    SIGNING_KEY_SECRET: `sk-${randomBytes(24).toString("base64url")}`,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...env,
  };
  const config = parseConfig(fullEnv);
  const logs = captureLogs("identity");
  let running: RunningIdentity | undefined;
  let auth: Client<typeof AuthService> | undefined;

  const start = async () => {
    running = await startIdentityServer(config, logs.logger, {
      ...(schema ? { databaseSchema: schema } : {}),
      ...(options.keyReloadIntervalMs ? { keyReloadIntervalMs: options.keyReloadIntervalMs } : {}),
      ...(options.agentDirectory ? { agentDirectory: options.agentDirectory } : {}),
      ...(options.oauth ? { oauth: options.oauth } : {}),
    });
    auth = createClient(AuthService, createConnectTransport({ baseUrl: running.url, httpVersion: "1.1" }));
  };
  const stop = async () => {
    await running?.close();
    running = undefined;
  };
  await start();

  const must = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error("the test identity service is stopped");
    return v;
  };
  return {
    config,
    env: fullEnv,
    schema,
    logs,
    passwords,
    get url() {
      return must(running).url;
    },
    get auth() {
      return must(auth);
    },
    get running() {
      return must(running);
    },
    start,
    stop,
    async restart() {
      await stop();
      await start();
    },
    async dispose() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
      if (databaseUrl && schema) {
        const client = new pg.Client({ connectionString: databaseUrl });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await client.end();
        }
      }
    },
  };
}

/** `authorization` header for a Connect call. */
export function bearer(token: string): { headers: { authorization: string } } {
  return { headers: { authorization: `Bearer ${token}` } };
}
