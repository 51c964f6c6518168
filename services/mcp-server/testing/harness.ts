import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type CallToolResult, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import pg from "pg";
import { RevocationService } from "#gen/supportext/auth/v1/revocation_pb.js";
import { createRemovedKeys } from "#kit/auth/index.js";
import { createServiceClient } from "#kit/client/index.js";
import { type Config, parseConfig } from "#kit/config/index.js";
import { ROLE_SCOPES } from "#kit/contract/index.js";
import type { Database } from "#kit/db/index.js";
import { createRevocationWatcher } from "#kit/revocation/index.js";
import {
  type FakeRevocationFeed,
  startFakeRevocationFeed,
} from "#kit/revocation/testing/fake-revocation-feed.js";
import { revocationWatcherSettings } from "#kit/service/index.js";
import { freePort } from "#kit/testing/free-port.js";
import { captureLogs, type LogCapture } from "#kit/testing/log-capture.js";
import { startTestIssuer, type TestIssuer, type TokenClaims } from "#kit/testing/test-issuer.js";
import { openMcpDatabase } from "../data/open-database.js";
import { type McpServerOverrides, type RunningMcpServer, startMcpServer } from "../server.js";

/**
 * A real MCP server on loopback (port 0) with a real test issuer whose JWKS it fetches over HTTP,
 * on a fresh database: a temp DATA_DIR (PGlite), or a unique schema when DATABASE_URL is set.
 * Clients are the SDK's own `Client` + `StreamableHTTPClientTransport`.
 */

// Scopes as the identity provider grants them: from the kit's one scope model.
export const ALL = ROLE_SCOPES.admin.join(" ");
export const AGENT_SCOPES = ROLE_SCOPES.support_agent.join(" ");
export const VIEWER_SCOPES = ROLE_SCOPES.viewer.join(" ");

export interface TestUser {
  readonly sub: string;
  readonly email: string;
  readonly roles: string[];
  readonly scope: string;
}

export const ADMIN: TestUser = {
  sub: "u-admin-7f3a",
  email: "admin@company.com",
  roles: ["admin"],
  scope: ALL,
};
export const AGENT: TestUser = {
  sub: "u-agent-19c2",
  email: "agent@company.com",
  roles: ["support_agent"],
  scope: AGENT_SCOPES,
};
export const VIEWER: TestUser = {
  sub: "u-viewer-5d01",
  email: "viewer@company.com",
  roles: ["viewer"],
  scope: VIEWER_SCOPES,
};

export interface Harness {
  readonly issuer: TestIssuer;
  /** The revocation feed the server subscribes to (a scriptable RevocationService on loopback). */
  readonly feed: FakeRevocationFeed;
  readonly server: RunningMcpServer;
  readonly config: Config;
  /** The server's database, for assertions on rows. */
  readonly db: Database;
  readonly logs: LogCapture;
  readonly mcpUrl: URL;
  /** The PostgreSQL schema of this run (undefined on PGlite). */
  readonly schema: string | undefined;
  /** A token for this server's audience (override anything through `claims`). */
  token(user: TestUser, claims?: TokenClaims): Promise<string>;
  /**
   * An initialized SDK client sending `Authorization: Bearer <token>` on every request (none if
   * undefined). With `confirm` it declares form elicitation and answers every question of a
   * destructive tool (docs/mcp-server.md, "Confirmation before destruction") with that yes or no.
   */
  connect(token: string | undefined, options?: { confirm?: boolean }): Promise<Client>;
  /** A raw POST to /mcp. */
  post(body: unknown, headers?: Record<string, string>): Promise<Response>;
  count(sql: string, params?: unknown[]): Promise<number>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly env?: Record<string, string>;
  /** Let the server open (and lock) the database itself instead of sharing the harness's handle. */
  readonly serverOwnsDatabase?: boolean;
  readonly overrides?: McpServerOverrides;
  /** What the log capture keeps (default debug); it holds every line in memory. */
  readonly logLevel?: string;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const issuer = await startTestIssuer({ audience: "support-ext-api" });
  const dataDir = mkdtempSync(join(tmpdir(), "mcp-server-test-"));
  const databaseUrl = process.env.DATABASE_URL;
  const schema = databaseUrl ? `mcp_test_${randomBytes(6).toString("hex")}` : undefined;
  const config = parseConfig({
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    MCP_PORT: "0",
    DATA_DIR: dataDir,
    AUTH_ISSUER: issuer.issuer,
    AUTH_JWKS_URL: issuer.jwksUrl.href,
    LOG_LEVEL: "debug",
    SHUTDOWN_GRACE: "1s",
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...options.env,
  });
  const logs = captureLogs("mcp-server", options.logLevel ?? "debug");
  // The identity provider is the test issuer here; its revocation feed a real loopback
  // RevocationService the tests script (the real feed: services/identity/revocation-feed/).
  const feed = await startFakeRevocationFeed({
    logger: logs.logger,
    heartbeatMs: config.REVOCATION_HEARTBEAT * 1000,
    port: await freePort(),
  });
  const removedKeys = createRemovedKeys();
  const revocations = createRevocationWatcher({
    client: createServiceClient(RevocationService, feed.url),
    logger: logs.logger,
    removedKeys,
    ...revocationWatcherSettings(config),
  });
  const db = await openMcpDatabase(config, schema ? { schema } : {});
  let server: RunningMcpServer;
  if (options.serverOwnsDatabase) {
    // The server opens its own handle; ours is closed first (PGlite: one process, one handle).
    await db.close();
    server = await startMcpServer(config, logs.logger, {
      revocations,
      removedKeys,
      ...options.overrides,
      ...(schema ? { databaseSchema: schema } : {}),
    });
  } else {
    server = await startMcpServer(config, logs.logger, {
      database: db,
      revocations,
      removedKeys,
      ...options.overrides,
    });
  }
  // Opening PGlite can hold the event loop for seconds: past the staleness bound the watcher fails
  // closed until the next heartbeat is read. Tests start from a live feed.
  for (
    const deadline = Date.now() + 10_000;
    revocations.state().status !== "live" && Date.now() < deadline;
  ) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const mcpUrl = new URL("/mcp", server.url);
  const clients: Client[] = [];

  return {
    issuer,
    feed,
    server,
    config,
    db,
    logs,
    mcpUrl,
    schema,
    token: (user, claims = {}) =>
      issuer.mint({
        sub: user.sub,
        email: user.email,
        roles: user.roles,
        scope: user.scope,
        aud: server.resource,
        // One login per test user unless a test says otherwise: tokens minted for the same user are
        // that login's refreshed tokens, and carry on its MCP sessions (session-registry.ts `ownerKey`).
        sid: `login-${user.sub}`,
        ...claims,
      }),
    async connect(token, connectOptions = {}) {
      const transport = new StreamableHTTPClientTransport(mcpUrl, {
        requestInit: { headers: token ? { authorization: `Bearer ${token}` } : {} },
      });
      const confirm = connectOptions.confirm;
      const client = new Client(
        { name: "mcp-server-test", version: "1.0.0" },
        confirm === undefined ? {} : { capabilities: { elicitation: {} } },
      );
      if (confirm !== undefined) {
        client.setRequestHandler(ElicitRequestSchema, async () =>
          confirm ? { action: "accept", content: { confirm: true } } : { action: "decline" },
        );
      }
      await client.connect(transport);
      clients.push(client);
      return client;
    },
    post: (body, headers = {}) =>
      fetch(mcpUrl, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...headers,
        },
        body: JSON.stringify(body),
      }),
    async count(sql, params = []) {
      const { rows } = await db.query<{ n: number }>(sql, params);
      return Number(rows[0]?.n ?? 0);
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await server.close();
      await revocations.close();
      await feed.stop();
      if (!options.serverOwnsDatabase) await db.close();
      await issuer.close();
      if (databaseUrl && schema) {
        const client = new pg.Client({ connectionString: databaseUrl });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The structured result of a successful call (fails the test with the tool's message otherwise). */
export function structured<T = Record<string, unknown>>(result: unknown): T {
  const r = result as CallToolResult;
  if (r.isError) throw new Error(`tool error: ${JSON.stringify(r.content)}`);
  return r.structuredContent as T;
}

/** The text of a tool error result. */
export function errorText(result: unknown): string {
  const r = result as CallToolResult;
  if (!r.isError) throw new Error(`expected a tool error, got ${JSON.stringify(r.structuredContent)}`);
  return r.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

export const initializeBody = (id: number | string = 1) => ({
  jsonrpc: "2.0",
  id,
  method: "initialize",
  params: {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "raw-http-test", version: "1.0.0" },
  },
});
