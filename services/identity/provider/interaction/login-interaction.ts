import type { Provider } from "oidc-provider";
import type { Logger } from "../../../kit/log/index.js";
import type { HttpRequest, HttpResponse } from "../../../kit/server/index.js";
import type { SessionStore } from "../../sessions/session-store.js";
import { clientAddressFrom } from "../../throttle/client-address.js";
import { renderErrorPage, renderLoginPage, sendPage } from "./login-page.js";
import type { CheckCredentials } from "./verify-credentials.js";

/** Where the provider sends the browser to sign in: `/oauth2/interaction/<uid>`. */
export const INTERACTION_PREFIX = "/oauth2/interaction/";

export interface LoginInteractionDeps {
  readonly provider: () => Provider;
  readonly issuer: string;
  /** The resource a request without `resource` is for (RFC 8707): the client's one resource. */
  readonly defaultResource: (clientId: string) => string;
  readonly checkCredentials: CheckCredentials;
  readonly sessions: SessionStore;
  /** How long a grant (its refresh tokens, its session) lives: REFRESH_TOKEN_TTL. */
  readonly grantLifetimeSec: number;
  readonly trustedProxyHops: number;
  readonly logger: Logger;
}

interface InteractionParams {
  readonly client_id?: string;
  readonly redirect_uri?: string;
  readonly scope?: string;
  readonly resource?: string | string[];
}

/**
 * The sign-in page of the authorization server (docs/identity.md, "OAuth 2.1 authorization server
 * for MCP clients"). oidc-provider validates the authorization request (client, redirect URI,
 * PKCE S256, resource) and sends the browser here; the person's credentials are checked with the
 * same throttle as AuthService.Login, and the grant holds only the scopes the user has, on the
 * resource asked for. The grant is the login session: its id is every token's `sid`, so
 * revocation reaches every hop through the feed like any other session. Every authorization is
 * signed in (no single sign-on across MCP clients: support desks share browsers).
 */
export function createLoginInteraction(deps: LoginInteractionDeps) {
  const { logger } = deps;

  async function show(
    req: HttpRequest,
    res: HttpResponse,
    status = 200,
    extra: { email?: string; message?: string } = {},
  ) {
    const provider = deps.provider();
    const details = await provider.interactionDetails(req, res);
    const params = details.params as InteractionParams;
    const client = params.client_id ? await provider.Client.find(params.client_id) : undefined;
    const requested = (params.scope ?? "").split(" ").filter(Boolean);
    sendPage(
      res,
      status,
      renderLoginPage({
        action: `${INTERACTION_PREFIX}${details.uid}`,
        clientName: (client as { clientName?: string } | undefined)?.clientName,
        clientId: params.client_id ?? "",
        redirectOrigin: originOf(params.redirect_uri ?? ""),
        resource: resourceOf(params, deps.defaultResource(params.client_id ?? "")),
        scopes: requested.length > 0 ? requested : undefined,
        ...extra,
      }),
    );
  }

  async function submit(req: HttpRequest, res: HttpResponse) {
    const provider = deps.provider();
    // Our own page posts here; Chromium sends `Origin: null` when a referrer policy hides it.
    const origin = header(req, "origin");
    if (origin !== undefined && origin !== "null" && origin !== new URL(deps.issuer).origin) {
      sendPage(res, 403, renderErrorPage("the form was not submitted from this server's login page"));
      return;
    }
    const details = await provider.interactionDetails(req, res);
    const params = details.params as InteractionParams;
    const form = new URLSearchParams((req as HttpRequest & { body?: string }).body ?? "");
    if (form.get("decision") === "deny") {
      logger.info({ client_id: params.client_id }, "oauth authorization denied by the user");
      await provider.interactionFinished(
        req,
        res,
        { error: "access_denied", error_description: "the user denied the request" },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    const email = form.get("email") ?? "";
    const address = clientAddressFrom(
      header(req, "x-forwarded-for"),
      deps.trustedProxyHops,
      req.socket.remoteAddress,
    );
    const checked = await deps.checkCredentials(email, form.get("password") ?? "", address);
    if (!checked.ok) {
      const message =
        checked.reason === "throttled"
          ? `Too many failed sign-in attempts; try again in ${checked.retryAfterSec} s.`
          : "Invalid email or password.";
      await show(req, res, checked.reason === "throttled" ? 429 : 401, { email, message });
      return;
    }
    const user = checked.user;
    const resource = resourceOf(params, deps.defaultResource(params.client_id ?? ""));
    const requested = (params.scope ?? "").split(" ").filter(Boolean);
    const granted = requested.filter((s) => user.scopes.includes(s));
    if (granted.length === 0) {
      await provider.interactionFinished(
        req,
        res,
        { error: "invalid_scope", error_description: "you hold none of the requested scopes" },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    const grant = new provider.Grant({ accountId: user.id, clientId: params.client_id ?? "" });
    // Granted on the resource (what its token carries) and as the provider's scopes (what the
    // consent check compares the request with); asked for but not held: recorded as declined.
    grant.addResourceScope(resource, granted.join(" "));
    grant.addOIDCScope(granted.join(" "));
    const declined = requested.filter((s) => !granted.includes(s));
    if (declined.length > 0) {
      grant.rejectResourceScope(resource, declined.join(" "));
      grant.rejectOIDCScope(declined.join(" "));
    }
    const grantId = await grant.save();
    await deps.sessions.openForGrant(grantId, user.id, new Date(Date.now() + deps.grantLifetimeSec * 1000));
    logger.info(
      {
        client_id: params.client_id,
        user_id: user.id,
        session_id: grantId,
        scope: granted.join(" "),
        redirect_origin: originOf(params.redirect_uri ?? ""),
      },
      "oauth authorization granted",
    );
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.id, remember: false }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  return async (req: HttpRequest, res: HttpResponse): Promise<void> => {
    try {
      if (req.method === "GET") await show(req, res);
      else if (req.method === "POST") await submit(req, res);
      else {
        res.writeHead(405, { allow: "GET, POST", "content-type": "text/plain" });
        res.end("method not allowed\n");
      }
    } catch (err) {
      // No interaction for this browser (expired, finished, or a post from elsewhere): nothing to resume.
      logger.warn({ err: (err as Error).message }, "sign-in page without a valid interaction");
      if (!res.headersSent) {
        sendPage(
          res,
          400,
          renderErrorPage("this sign-in has expired or was already used; start again from the application"),
        );
      }
    }
  };
}

function resourceOf(params: InteractionParams, fallback: string): string {
  const r = params.resource;
  return (Array.isArray(r) ? r[0] : r) ?? fallback;
}

function header(req: HttpRequest, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === "string" ? value : undefined;
}

function originOf(uri: string): string {
  try {
    const url = new URL(uri);
    return url.origin !== "null" ? url.origin : url.protocol;
  } catch {
    return "";
  }
}
