import type { HttpRequest, HttpResponse, HttpRouteHandler } from "#kit/server/index.js";
import type { KeyRing } from "../keys/key-ring.js";

export const JWKS_PATH = "/.well-known/jwks.json";

/**
 * `GET /.well-known/jwks.json`: the public halves of every stored signing key (current, next and
 * retired-but-not-removed), so tokens stay verifiable across a rotation. Short max-age: verifiers
 * cache and refetch on unknown kid anyway, and a removed key should disappear quickly.
 */
export function createJwksRoute(keyRing: KeyRing): HttpRouteHandler {
  return (req: HttpRequest, res: HttpResponse) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "application/json" });
      res.end('{"error":"method_not_allowed"}');
      return;
    }
    const body = JSON.stringify(keyRing.jwks());
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
      "cache-control": "public, max-age=60",
    });
    if (req.method === "HEAD") res.end();
    else res.end(body);
  };
}
