/**
 * `/healthz` and `/readyz` for orchestrators (docs/architecture.md, "Health for orchestrators"),
 * the one implementation every service serves on its own port: the kit's service server adds them
 * itself, before any service's guard and while a service is still starting.
 *
 * - `/healthz` (liveness): the process answers HTTP, so 200 `{"status":"ok"}`; a failed dependency
 *   is not a reason to restart this process (restarting would not bring the database back).
 * - `/readyz` (readiness): read from the same registry as `grpc.health.v1` `Check("")`, so the two
 *   never disagree: 200 `{"status":"ok"}`, else 503 `{"status":"unavailable","not_ready":[…]}`
 *   naming what is not ready (`database`, `revocation-feed`, `signing-keys`, `starting`, `shutting-down`).
 *
 * No token: probes carry none. Nothing sensitive: dependency names only, never an error's text, an
 * address or a version. `no-store` (RFC 9111 §5.2.2.5) so no cache answers for a later state.
 */
import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { HealthService } from "./health.js";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

export const LIVENESS_PATH = "/healthz";
export const READINESS_PATH = "/readyz";
export const HEALTH_PATHS: ReadonlySet<string> = new Set([LIVENESS_PATH, READINESS_PATH]);

/** `/healthz` and `/readyz` as route handlers, by path. */
export function healthRoutes(
  health: Pick<HealthService, "readiness">,
): Readonly<Record<string, (req: Req, res: Res) => void | Promise<void>>> {
  return {
    [LIVENESS_PATH]: (req, res) => answer(req, res, 200, { status: "ok" }),
    [READINESS_PATH]: async (req, res) => {
      // Another method is refused (405) without checking anything.
      if (req.method !== "GET" && req.method !== "HEAD") return answer(req, res, 405, {});
      const { ready, notReady } = await health.readiness();
      answer(
        req,
        res,
        ready ? 200 : 503,
        ready ? { status: "ok" } : { status: "unavailable", not_ready: notReady },
      );
    },
  };
}

function answer(req: Req, res: Res, status: number, body: object): void {
  const headers = { "content-type": "application/json", "cache-control": "no-store" };
  if (req.method !== "GET" && req.method !== "HEAD") {
    // RFC 9110 §15.5.6: a 405 names the methods the resource supports.
    res.writeHead(405, { ...headers, allow: "GET, HEAD" });
    res.end('{"error":"method_not_allowed"}');
    return;
  }
  res.writeHead(status, headers);
  // HEAD: the same status and headers without a body (RFC 9110 §9.3.2).
  if (req.method === "HEAD") res.end();
  else res.end(JSON.stringify(body));
}
