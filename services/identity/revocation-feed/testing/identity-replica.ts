import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { SessionAdminService } from "#gen/supportext/auth/v1/session_admin_pb.js";
import { type Config, parseConfig } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import { type ServiceServer, startServiceServer } from "#kit/server/index.js";
import { freePort } from "#kit/testing/free-port.js";
import { captureLogs, type LogCapture } from "#kit/testing/log-capture.js";
import { openIdentityDatabase } from "../../data/open-identity-database.js";
import { type Identity, startIdentity } from "../../identity.js";
import { REVOCATION_WATCH_PROCEDURE } from "../revocation-service.js";

/**
 * An identity replica for the feed's tests: the real `startIdentity` on the real
 * identity database (PGlite in a temp DATA_DIR, or `schema` on DATABASE_URL when that is set), served
 * by the kit server on a fixed loopback port so the server can stop and start while the identity
 * provider (its list, its LISTEN) lives on. Two replicas given one schema share one PostgreSQL.
 *
 * The caller policy of RevocationService (services only, `REVOCATION_FEED_CALLERS`) belongs to the
 * server's wiring; here Watch is simply callable without a token.
 */
export interface IdentityReplica {
  readonly config: Config;
  readonly identity: Identity;
  readonly db: Database;
  readonly logs: LogCapture;
  readonly passwords: { readonly admin: string; readonly agent: string; readonly viewer: string };
  /** Fixed for the replica's life (the server restarts on the same port). */
  readonly url: string;
  readonly auth: Client<typeof AuthService>;
  readonly admin: Client<typeof SessionAdminService>;
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  /** Server, identity provider and database; removes a temp DATA_DIR (not a schema: see dropSchema). */
  close(): Promise<void>;
}

export const testDatabaseUrl = (): string | undefined => process.env.DATABASE_URL || undefined;

export const freshSchema = (): string => `identity_feed_${randomBytes(6).toString("hex")}`;

export async function dropSchema(schema: string): Promise<void> {
  const url = testDatabaseUrl();
  if (!url) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

export async function startIdentityReplica(options: {
  readonly heartbeatMs: number;
  /** PostgreSQL schema (replicas given the same one share it); ignored without DATABASE_URL. */
  readonly schema?: string;
  readonly name?: string;
  /** The seed passwords: a replica joining a seeded schema must use the first one's. */
  readonly passwords?: IdentityReplica["passwords"];
}): Promise<IdentityReplica> {
  const databaseUrl = testDatabaseUrl();
  const dataDir = await mkdtemp(join(tmpdir(), "identity-feed-"));
  const passwords = options.passwords ?? {
    admin: `admin-${randomBytes(9).toString("base64url")}`,
    agent: `agent-${randomBytes(9).toString("base64url")}`,
    viewer: `viewer-${randomBytes(9).toString("base64url")}`,
  };
  // Only what this test decides: whatever else the shell exports stays out.
  const config = parseConfig({
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    AUTH_ISSUER: "http://identity.test",
    MCP_RESOURCE: "http://mcp.test/mcp",
    SEED_ADMIN_PASSWORD: passwords.admin,
    SEED_AGENT_PASSWORD: passwords.agent,
    SEED_VIEWER_PASSWORD: passwords.viewer,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  });
  const logs = captureLogs(options.name ?? "identity");
  const db = await openIdentityDatabase(config, { logger: logs.logger, schema: options.schema });
  let identity: Identity;
  try {
    identity = await startIdentity({
      db,
      config,
      logger: logs.logger,
      revocationHeartbeatMs: options.heartbeatMs,
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  identity.listeningAt(url);
  let server: ServiceServer | undefined;
  const startServer = async () => {
    server = await startServiceServer({
      name: "identity",
      host: "127.0.0.1",
      port,
      logger: logs.logger,
      routes: (router) => identity.registerRoutes(router),
      auth: {
        ...identity.auth,
        publicProcedures: new Set([...identity.auth.publicProcedures, REVOCATION_WATCH_PROCEDURE]),
      },
      corsOrigins: [],
      httpRoutes: identity.httpRoutes,
      // Long on purpose: open Watch streams must end at the drain, not when the grace runs out.
      shutdownGraceMs: 30_000,
    });
  };
  const stopServer = async () => {
    const s = server;
    server = undefined;
    await s?.close();
  };
  await startServer();
  const transport = createConnectTransport({ baseUrl: url, httpVersion: "1.1" });
  return {
    config,
    identity,
    db,
    logs,
    passwords,
    url,
    auth: createClient(AuthService, transport),
    admin: createClient(SessionAdminService, transport),
    stopServer,
    startServer,
    async close() {
      await stopServer();
      identity.close();
      await db.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
