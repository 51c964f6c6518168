import type { Provider } from "oidc-provider";
import { isFirstParty } from "./first-party-clients.js";
import { PAGE_HEADERS, renderUntrustedRedirectPage } from "./interaction/login-page.js";
import { isLoopbackRedirect } from "./redirect-uri-policy.js";

/** Where the authorization error of a request is kept on its Koa context. */
const FAILED = Symbol("support-ext.authorization-error");

interface AuthorizationContext {
  status: number;
  body: unknown;
  readonly oidc?: {
    readonly route?: string;
    readonly client?: { readonly clientId: string };
    readonly params?: Record<string, unknown>;
    readonly body?: Record<string, unknown>;
  };
  readonly method: string;
  readonly query: Record<string, unknown>;
  readonly response: { get(field: string): string };
  set(field: string, value: string): void;
  remove(field: string): void;
  [FAILED]?: { readonly error: string; readonly error_description?: string; readonly crafted: boolean };
}

/**
 * The authorization server as an open redirector (RFC 9700 §4.11.2): anyone can register a client
 * (RFC 7591) or name one by its metadata document, with any https redirect URI, then send people a
 * link to our authorization endpoint with a request made to fail (no PKCE, an unsupported
 * response type, `prompt=none`, which always fails here since every authorization signs in). RFC 6749 §4.1.2.1
 * sends such errors to the redirect URI at once — a link that starts on our address, landing on
 * theirs. Only for a client and redirect URI we trust does that stay automatic: our own clients,
 * and loopback redirect URIs (RFC 8252 §7.3: the user's own machine, no one's page). For any other,
 * an error of the authorization request itself — before anyone signed in — is shown on our page
 * with the application's origin, and the user decides whether to go on to it (the link carries the
 * error, so the client still learns why). Errors after the sign-in (Deny, a user holding none of
 * the scopes) go back as before: the user has authenticated and acted.
 */
export function showUntrustedErrorRedirects(provider: Provider): void {
  provider.on(
    "authorization.error",
    (ctx: AuthorizationContext, err: { error?: unknown; error_description?: unknown }) => {
      // The request's own errors: at the authorization endpoint, or at its resume path before any
      // interaction was loaded (no cookie, any uid: then client_id and redirect_uri come from the
      // link, and a genuine resume URL has no query). A resumed interaction (Deny) is after sign-in.
      const route = ctx?.oidc?.route;
      const beforeInteraction = route === "resume" && ctx.oidc?.params === undefined;
      if (route !== "authorization" && !beforeInteraction) return;
      ctx[FAILED] = {
        crafted: beforeInteraction,
        error: typeof err?.error === "string" ? err.error : "invalid_request",
        ...(typeof err?.error_description === "string" ? { error_description: err.error_description } : {}),
      };
    },
  );
  provider.use(async (raw, next) => {
    await next();
    const ctx = raw as AuthorizationContext;
    const failed = ctx[FAILED];
    if (!failed) return;
    const clientId = ctx.oidc?.client?.clientId;
    // Where the library took it from: its parameters, or before they were assembled the request's own.
    const params = ctx.oidc?.params ?? (ctx.method === "POST" ? ctx.oidc?.body : ctx.query) ?? {};
    const redirectUri = params.redirect_uri;
    if (clientId === undefined || isFirstParty(clientId) || typeof redirectUri !== "string") return;
    const target = parseUrl(redirectUri);
    if (!target || isLoopbackRedirect(target)) return;
    const location = ctx.status >= 300 && ctx.status < 400 ? ctx.response.get("location") : "";
    // Sent there: a redirect (query or fragment), or an auto-posting form (form_post).
    const sentThere = location !== "" ? sameTarget(location, target) : isFormPost(ctx);
    if (!sentThere) return;
    ctx.remove("location");
    ctx.status = 400;
    for (const [field, value] of Object.entries(PAGE_HEADERS)) ctx.set(field, value);
    ctx.body = renderUntrustedRedirectPage({
      error: failed.error,
      description: failed.error_description,
      redirectOrigin: target.origin,
      // A resume link with a client and redirect URI in its query was made by hand: no way on.
      continueTo: location !== "" && !failed.crafted ? location : undefined,
    });
  });
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function sameTarget(location: string, target: URL): boolean {
  const url = parseUrl(location);
  return url !== undefined && url.origin === target.origin && url.pathname === target.pathname;
}

/** The library's form_post answer: a page whose form posts itself to the redirect URI. */
function isFormPost(ctx: AuthorizationContext): boolean {
  return typeof ctx.body === "string" && ctx.body.includes('<form method="post" action="');
}
