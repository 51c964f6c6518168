import { existsSync, mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "#kit/config/index.js";
import { dataDirLockPath } from "#kit/db/index.js";
import { captureLogs } from "#kit/testing/log-capture.js";
import { SERVICE_NAME } from "./data/open-database.js";
import { startMcpServer } from "./server.js";

const dataDir = mkdtempSync(join(tmpdir(), "mcp-server-start-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("startMcpServer", () => {
  it.skipIf(process.env.DATABASE_URL)(
    "gives back the database and its lock when the port is taken, so a retry can start",
    async () => {
      const squatter = net.createServer();
      await new Promise<void>((r) => squatter.listen(0, "127.0.0.1", r));
      const taken = (squatter.address() as net.AddressInfo).port;
      const config = (port: number) =>
        parseConfig({ NODE_ENV: "test", MCP_PORT: String(port), DATA_DIR: dataDir, SHUTDOWN_GRACE: "1s" });
      const { logger } = captureLogs("mcp-server");
      try {
        await expect(startMcpServer(config(taken), logger)).rejects.toThrow(/EADDRINUSE/);
        expect(existsSync(dataDirLockPath(dataDir, SERVICE_NAME))).toBe(false);
      } finally {
        squatter.close();
      }
      const server = await startMcpServer(config(0), logger);
      // It lives, and says it is not ready: no identity provider here, so no revocation feed.
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: "unavailable", not_ready: ["revocation-feed"] });
      expect(existsSync(dataDirLockPath(dataDir, SERVICE_NAME))).toBe(true);
      await server.close();
      expect(existsSync(dataDirLockPath(dataDir, SERVICE_NAME))).toBe(false);
    },
  );
});
