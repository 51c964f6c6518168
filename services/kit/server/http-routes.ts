import type * as http from "node:http";
import type * as http2 from "node:http2";

export type HttpRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type HttpResponse = http.ServerResponse | http2.Http2ServerResponse;
/** The handler of a plain-HTTP route served on the same port (e.g. `/.well-known/jwks.json`). */
export type HttpRouteHandler = (req: HttpRequest, res: HttpResponse) => void | Promise<void>;
/**
 * Which browser origins may use a plain-HTTP route (docs/architecture.md, "Browsers"):
 * - `configured`: the service's CORS_ORIGINS, as for its RPCs (a bare handler means this);
 * - `any-origin`: public documents and OAuth endpoints that browser-based clients on any origin
 *   call (metadata, JWKS, token, registration): `Access-Control-Allow-Origin: *`, never cookies;
 * - `own-pages`: reached by navigation from the service's own pages (the login form's POST, whose
 *   Origin Chromium sends as `null` under some referrer policies): the route checks it itself;
 * - `route-answers`: a protocol library or route that answers CORS, or refuses origins, itself
 *   (the OAuth authorization server: oidc-provider, docs/identity.md; the MCP endpoint's Origin
 *   allow-list, docs/mcp-server.md).
 */
export type RouteCors = "configured" | "any-origin" | "own-pages" | "route-answers";
export type HttpRoute = HttpRouteHandler | { readonly handle: HttpRouteHandler; readonly cors: RouteCors };
export type HttpRoutes = Readonly<Record<string, HttpRoute>>;
/**
 * Screens a request before CORS and routing (a Host allow-list against DNS rebinding, say): answers
 * it and returns true to refuse it, returns false to let it through.
 */
export type RequestGuard = (req: HttpRequest, res: HttpResponse) => boolean;

/** `handle` served to browsers on any origin (see RouteCors). */
export const anyOrigin = (handle: HttpRouteHandler): HttpRoute => ({ handle, cors: "any-origin" });
/** `handle` reached by the service's own pages only; it checks Origin itself (see RouteCors). */
export const ownPages = (handle: HttpRouteHandler): HttpRoute => ({ handle, cors: "own-pages" });
/** `handle` answers CORS itself (see RouteCors). */
export const routeAnswersCors = (handle: HttpRouteHandler): HttpRoute => ({ handle, cors: "route-answers" });

/** The route's handler and CORS policy, whichever form it was declared in. */
export function routeParts(route: HttpRoute): { handle: HttpRouteHandler; cors: RouteCors } {
  return typeof route === "function" ? { handle: route, cors: "configured" } : route;
}

/** The request's path, without its query. */
export function requestPath(req: HttpRequest): string {
  return (req.url ?? "/").split("?")[0] ?? "/";
}

/**
 * The route for `path`: an exact key, or the longest key ending in `/*` that `path` starts with
 * (a mounted application serving a tree of paths, e.g. `/oauth2/*`).
 */
export function findRoute(routes: HttpRoutes, path: string): HttpRoute | undefined {
  const exact = routes[path];
  if (exact) return exact;
  let best: string | undefined;
  for (const key of Object.keys(routes)) {
    if (!key.endsWith("/*")) continue;
    const prefix = key.slice(0, -1);
    if (path.startsWith(prefix) && (best === undefined || key.length > best.length)) best = key;
  }
  return best === undefined ? undefined : routes[best];
}
