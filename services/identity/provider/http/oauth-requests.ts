import { context } from "@opentelemetry/api";
import { SCOPES } from "#kit/contract/index.js";
import type { Logger } from "#kit/log/index.js";
import { joinHttpRequest } from "#kit/propagation/index.js";
import type { HttpRequest, HttpResponse } from "#kit/server/index.js";
import { INTERACTION_PREFIX } from "../interaction/login-interaction.js";
import { renderErrorPage, sendPage } from "../interaction/login-page.js";
import { OAUTH_ROUTES } from "../provider-configuration.js";
import { checkRequest, RefusedInput } from "./checked-request.js";

/** RFC 8414's metadata path; oidc-provider serves the same document at OpenID's. */
export const AS_METADATA_PATH = "/.well-known/oauth-authorization-server";
export const OPENID_METADATA_PATH = "/.well-known/openid-configuration";

type Handler = (req: HttpRequest, res: HttpResponse) => unknown;

/**
 * Serves one request of the authorization server: in a server span joining the caller's trace,
 * held to the input rule, to the sign-in page or to the provider (which gets RFC 8414's metadata
 * path as OpenID's, and an authorization request without `scope` as one for every scope).
 */
export function createOAuthRequestHandler(deps: {
  readonly interaction: Handler;
  /** The provider's current request listener (it is rebuilt when the signing keys change). */
  readonly currentHandle: () => Handler;
  readonly logger: Logger;
}): (req: HttpRequest, res: HttpResponse) => Promise<void> {
  const serveOAuth = async (req: HttpRequest, res: HttpResponse, path: string): Promise<void> => {
    let query: URLSearchParams;
    try {
      query = await checkRequest(req);
    } catch (err) {
      if (!(err instanceof RefusedInput)) throw err;
      refuseInput(req, res, path, err.message);
      deps.logger.warn({ path, error_description: err.message }, "oauth request refused: invalid_request");
      return;
    }
    if (path.startsWith(INTERACTION_PREFIX)) {
      await deps.interaction(req, res);
      return;
    }
    if (path === AS_METADATA_PATH) req.url = OPENID_METADATA_PATH;
    // A request without `scope` is for everything the user holds (the grant narrows it to that).
    if (path === OAUTH_ROUTES.authorization && req.method === "GET" && !query.has("scope")) {
      query.set("scope", SCOPES.join(" "));
      req.url = `${path}?${query}`;
    }
    deps.currentHandle()(req, res);
  };

  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    // Plain HTTP routes skip the Connect interceptors: join the caller's trace with the same core,
    // in a server span per request (the token endpoint's among them; docs/architecture.md, "Telemetry").
    const { trace: call } = joinHttpRequest(req, res, oauthRoute(path), `${req.method} ${path}`);
    return context.with(call.context, () => serveOAuth(req, res, path));
  };
}

const KNOWN_ROUTES: ReadonlySet<string> = new Set([
  ...Object.values(OAUTH_ROUTES),
  AS_METADATA_PATH,
  OPENID_METADATA_PATH,
]);

/** The route a span and a metric name a request by: a fixed path, never one a caller made up. */
function oauthRoute(path: string): string {
  if (KNOWN_ROUTES.has(path)) return path;
  if (path.startsWith(INTERACTION_PREFIX)) return `${INTERACTION_PREFIX}*`;
  return "/oauth2/*";
}

/** A page for a browser at the authorization or sign-in page, RFC 6749 §5.2 JSON for the rest. */
function refuseInput(req: HttpRequest, res: HttpResponse, path: string, description: string): void {
  if (req.method === "GET" && (path === OAUTH_ROUTES.authorization || path.startsWith(INTERACTION_PREFIX))) {
    sendPage(res, 400, renderErrorPage(`invalid request: ${description}`));
    return;
  }
  const body = JSON.stringify({ error: "invalid_request", error_description: description });
  res.writeHead(400, {
    "content-type": "application/json",
    "cache-control": "no-store",
    "access-control-allow-origin": "*",
    "content-length": String(Buffer.byteLength(body)),
  });
  res.end(body);
}
