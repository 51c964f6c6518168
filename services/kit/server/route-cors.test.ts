import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureLogs } from "../testing/log-capture.js";
import { anyOrigin, ownPages, type ServiceServer, startServiceServer } from "./service-server.js";

/**
 * Each plain-HTTP route's CORS policy on a real kit server (docs/architecture.md, "Browsers"): a
 * bare route follows CORS_ORIGINS like the RPCs; `anyOrigin` serves every origin without
 * credentials; `ownPages` lets a navigation (a form post, `Origin: null` included) reach the route,
 * which decides for itself.
 */
const ALLOWED = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";
const FOREIGN = "https://elsewhere.example";
let server: ServiceServer;
const reached: string[] = [];

beforeAll(async () => {
  const answer =
    (name: string) =>
    (
      req: { headers: Record<string, unknown> },
      res: { writeHead(s: number): void; end(b: string): void },
    ) => {
      reached.push(`${name} ${String(req.headers.origin)}`);
      res.writeHead(200);
      res.end(name);
    };
  server = await startServiceServer({
    name: "cors-routes",
    host: "127.0.0.1",
    port: 0,
    logger: captureLogs("cors-routes").logger,
    routes: () => undefined,
    auth: { verifier: { verify: () => Promise.reject(new Error("no tokens here")) } },
    corsOrigins: [ALLOWED],
    httpRoutes: {
      "/configured": answer("configured"),
      "/public": anyOrigin(answer("public")),
      "/form": ownPages(answer("form")),
    },
  });
});
afterAll(() => server?.close());

const send = (path: string, init: RequestInit) => fetch(`${server.url}${path}`, init);
const preflight = (path: string, origin: string) =>
  send(path, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type,authorization",
    },
  });

describe("plain-HTTP routes and browser origins", () => {
  it("a bare route admits only CORS_ORIGINS: a foreign origin is refused 403 before the route runs", async () => {
    reached.length = 0;
    const ok = await send("/configured", { headers: { origin: ALLOWED } });
    expect([ok.status, ok.headers.get("access-control-allow-origin")]).toEqual([200, ALLOWED]);
    const refused = await send("/configured", { headers: { origin: FOREIGN } });
    expect(refused.status).toBe(403);
    expect(reached).toEqual([`configured ${ALLOWED}`]);
  });

  it("an any-origin route answers every origin with `*` (preflight 204 with the OAuth headers), and no-origin callers too", async () => {
    const pre = await preflight("/public", FOREIGN);
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    expect(pre.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(pre.headers.get("access-control-allow-credentials")).toBeNull();
    for (const origin of [FOREIGN, "null", ALLOWED]) {
      const res = await send("/public", { method: "POST", headers: { origin }, body: "x" });
      expect([res.status, res.headers.get("access-control-allow-origin"), await res.text()]).toEqual([
        200,
        "*",
        "public",
      ]);
    }
    const plain = await send("/public", {});
    expect([plain.status, plain.headers.get("access-control-allow-origin")]).toEqual([200, null]);
  });

  it("an own-pages route is reached whatever the Origin (Chromium's `null` included) and gets no CORS headers", async () => {
    reached.length = 0;
    for (const origin of ["null", FOREIGN]) {
      const res = await send("/form", {
        method: "POST",
        headers: { origin, "content-type": "application/x-www-form-urlencoded" },
        body: "a=b",
      });
      expect([res.status, res.headers.get("access-control-allow-origin")]).toEqual([200, null]);
    }
    expect(reached).toEqual(["form null", `form ${FOREIGN}`]);
  });
});
