import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../testing/free-port.js";
import { requestToken, TokenEndpointError } from "./token-request.js";

/**
 * The token endpoint client tells an outage from a slow answer (docs/mcp-gateway.md, "Deadlines"):
 * nothing accepting the connection fails at once as `unreachable`; a connected server is waited
 * for until the request's `timeoutMs`, however short the connect bound, then `timed_out`.
 */
let server: Server;
let endpoint: string;
const client = { clientId: "svc", clientSecret: "svc-secret" };
const form = () => new URLSearchParams({ grant_type: "client_credentials", audience: "x" });

beforeAll(async () => {
  server = createServer((req, res) => {
    const delay = Number(new URL(req.url ?? "/", "http://x").searchParams.get("delay") ?? 0);
    req.resume();
    setTimeout(() => {
      if (req.url?.startsWith("/html")) {
        res.writeHead(502, { "content-type": "text/html" }).end("<h1>bad gateway</h1>");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ access_token: "t", expires_in: 60, scope: "a b" }));
    }, delay);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as TokenEndpointError,
  );

describe("requestToken", () => {
  it("waits for a slow answer past the connect bound, within its timeout", async () => {
    const t = await requestToken(`${endpoint}/token?delay=600`, client, form(), {
      timeoutMs: 5_000,
      connectTimeoutMs: 100,
    });
    expect(t.accessToken).toBe("t");
    expect(t.scope).toBe("a b");
  });

  it("gives up on a connected server at its timeout: timed_out, not unreachable", async () => {
    const started = performance.now();
    const err = await failure(
      requestToken(`${endpoint}/token?delay=3000`, client, form(), { timeoutMs: 300 }),
    );
    expect(err).toBeInstanceOf(TokenEndpointError);
    expect(err?.error).toBe("timed_out");
    expect(err?.message).toMatch(/no answer within 300 ms/);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("fails at once when nothing accepts the connection: unreachable, saying why", async () => {
    const port = await freePort();
    const started = performance.now();
    const err = await failure(
      requestToken(`http://127.0.0.1:${port}/token`, client, form(), { timeoutMs: 60_000 }),
    );
    expect(err?.error).toBe("unreachable");
    expect(err?.message).toMatch(/connection refused \(ECONNREFUSED\)/);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("reports an answer that is not JSON as the endpoint's server_error with its status", async () => {
    const err = await failure(requestToken(`${endpoint}/html`, client, form(), { timeoutMs: 5_000 }));
    expect(err?.error).toBe("server_error");
    expect(err?.status).toBe(502);
  });

  it("reuses its kept-alive connection for sequential requests", async () => {
    const connections = new Set<unknown>();
    const count = (socket: unknown) => connections.add(socket);
    server.on("connection", count);
    try {
      for (let i = 0; i < 3; i++)
        await requestToken(`${endpoint}/token`, client, form(), { timeoutMs: 5_000 });
    } finally {
      server.off("connection", count);
    }
    expect(connections.size).toBeLessThanOrEqual(1);
  });
});
