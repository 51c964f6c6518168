import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCorsHandler, PREFLIGHT_MAX_AGE_SECONDS } from "./cors.js";

/**
 * The CORS door on its own (the extension's origin and a development page allowed, nothing else);
 * service-server.test.ts checks it in front of a real Connect service.
 */

const EXTENSION = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";
const DEV_PAGE = "http://127.0.0.1:5173";
let server: http.Server;
let base: string;
let handled = 0;

beforeAll(async () => {
  const cors = createCorsHandler([EXTENSION, DEV_PAGE]);
  server = http.createServer((req, res) => {
    if (cors(req, res)) return;
    handled++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function request(method: string, headers: Record<string, string>) {
  const res = await fetch(`${base}/supportext.chat.v1.ChatService/ListAgents`, { method, headers });
  await res.arrayBuffer();
  return res;
}

const preflightHeaders = (origin: string) => ({
  origin,
  "access-control-request-method": "POST",
  "access-control-request-headers": "authorization,content-type,connect-protocol-version,connect-timeout-ms",
});

describe("CORS", () => {
  it("answers an allowed origin's preflight with what the Connect client needs, cached", async () => {
    for (const origin of [EXTENSION, DEV_PAGE, EXTENSION.toUpperCase()]) {
      const res = await request("OPTIONS", preflightHeaders(origin));
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      const allowedHeaders = (res.headers.get("access-control-allow-headers") ?? "")
        .toLowerCase()
        .split(", ");
      for (const h of ["authorization", "content-type", "connect-protocol-version", "connect-timeout-ms"]) {
        expect(allowedHeaders).toContain(h);
      }
      expect(res.headers.get("access-control-allow-methods")).toContain("POST");
      expect(res.headers.get("access-control-max-age")).toBe(String(PREFLIGHT_MAX_AGE_SECONDS));
      expect(res.headers.get("vary")).toContain("Origin");
    }
  });

  it("grants a private-network preflight to an allowed origin only", async () => {
    const ok = await request("OPTIONS", {
      ...preflightHeaders(EXTENSION),
      "access-control-request-private-network": "true",
    });
    expect(ok.headers.get("access-control-allow-private-network")).toBe("true");
    const plain = await request("OPTIONS", preflightHeaders(EXTENSION));
    expect(plain.headers.get("access-control-allow-private-network")).toBeNull();
  });

  it("exposes the headers a browser client reads on the actual response", async () => {
    const res = await request("POST", { origin: DEV_PAGE, "content-type": "application/json" });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(DEV_PAGE);
    const exposed = (res.headers.get("access-control-expose-headers") ?? "").toLowerCase();
    for (const h of ["grpc-status", "grpc-message", "www-authenticate", "retry-after", "x-request-id"]) {
      expect(exposed).toContain(h);
    }
  });

  it("refuses any other origin with 403 and no CORS grant, before a handler runs", async () => {
    const before = handled;
    for (const origin of [
      "https://evil.example",
      "null",
      "chrome-extension://otherextensionidotherextension",
      `${DEV_PAGE}0`,
    ]) {
      const preflight = await request("OPTIONS", preflightHeaders(origin));
      expect(preflight.status).toBe(403);
      expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
      const actual = await request("POST", { origin, "content-type": "application/json" });
      expect(actual.status).toBe(403);
      expect(actual.headers.get("access-control-allow-origin")).toBeNull();
    }
    expect(handled).toBe(before);
  });

  it("lets requests without an Origin through untouched (services, curl)", async () => {
    const res = await request("POST", { "content-type": "application/json" });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("vary")).toBeNull();
  });

  it("with no configured origin, refuses every browser origin", async () => {
    const closed = createCorsHandler([]);
    const s = http.createServer((req, res) => {
      if (!closed(req, res)) res.end("{}");
    });
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/`, {
      method: "OPTIONS",
      headers: preflightHeaders(EXTENSION),
    });
    expect(res.status).toBe(403);
    await new Promise<void>((r) => s.close(() => r()));
  });
});
