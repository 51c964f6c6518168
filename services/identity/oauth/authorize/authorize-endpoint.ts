import type { Logger } from "../../../kit/log/logger.js";
import type { HttpRequest, HttpResponse, HttpRouteHandler } from "../../../kit/server/service-server.js";
import { parseParameters, parseQuery } from "../../input/request-parameters.js";
import { clientAddressFrom } from "../../throttle/client-address.js";
import type { ResolveClient } from "../clients/resolve-client.js";
import type { CodeStore } from "../grants/code-store.js";
import { headerOf, readBody } from "../http-io.js";
import { AuthorizeError, UntrustedRedirectError } from "../oauth-errors.js";
import { grantedScopes } from "../scopes.js";
import {
  type AuthorizationRequest,
  REQUEST_PARAMETERS,
  redirectBack,
  validateAuthorizationRequest,
} from "./authorization-request.js";
import {
  CSRF_FIELD,
  CSRF_LIFETIME_SEC,
  createSpentCsrfValues,
  csrfCookie,
  csrfMatches,
  newCsrfToken,
} from "./csrf.js";
import { renderErrorPage, renderLoginPage, sendPage, sendRedirect } from "./login-page.js";
import type { CheckCredentials } from "./verify-credentials.js";

export const AUTHORIZE_PATH = "/oauth2/authorize";
/** Codes are redeemed within seconds by the client that asked; a minute is plenty (OAuth 2.1 §4.1.2). */
const CODE_LIFETIME_SEC = 60;
const MAX_FORM = 16 * 1024;

export interface AuthorizeEndpointDeps {
  readonly issuer: string;
  readonly mcpResource: string;
  readonly resolveClient: ResolveClient;
  readonly checkCredentials: CheckCredentials;
  readonly codes: CodeStore;
  readonly trustedProxyHops: number;
  readonly logger: Logger;
}

/**
 * `GET /oauth2/authorize` shows the login and consent page for a valid request; `POST` (the page's
 * form, CSRF-checked) verifies the password and redirects back with a code bound to the client,
 * redirect URI, PKCE challenge, granted scope and resource. Requests with an untrusted client or
 * redirect URI get an error page and no redirect (RFC 6749 §4.1.2.1).
 */
export function createAuthorizeEndpoint(deps: AuthorizeEndpointDeps): HttpRouteHandler {
  const { logger, issuer } = deps;
  const secureCookie = issuer.startsWith("https://");
  const spentCsrf = createSpentCsrfValues({ lifetimeMs: CSRF_LIFETIME_SEC * 1000, max: 100_000 });
  const validate = (params: URLSearchParams) =>
    validateAuthorizationRequest(params, {
      resolveClient: deps.resolveClient,
      mcpResource: deps.mcpResource,
    });

  const showPage = (
    res: HttpResponse,
    request: AuthorizationRequest,
    status: number,
    extra: { email?: string; message?: string } = {},
  ) => {
    const csrf = newCsrfToken();
    const hidden: Record<string, string> = {
      response_type: "code",
      client_id: request.client.clientId,
      redirect_uri: request.redirectUri,
      code_challenge: request.codeChallenge,
      code_challenge_method: "S256",
      resource: request.resource,
      ...(request.state !== undefined ? { state: request.state } : {}),
      ...(request.scope !== undefined ? { scope: request.scope } : {}),
    };
    const html = renderLoginPage({
      action: AUTHORIZE_PATH,
      clientName: request.client.clientName,
      clientId: request.client.clientId,
      redirectOrigin: originOf(request.redirectUri),
      resource: request.resource,
      scopes: request.scope?.split(" ").filter(Boolean),
      hidden,
      csrf,
      ...extra,
    });
    sendPage(res, status, html, { "set-cookie": csrfCookie(csrf, AUTHORIZE_PATH, secureCookie) });
  };

  const refuse = (res: HttpResponse, err: unknown): void => {
    if (err instanceof UntrustedRedirectError) {
      logger.warn(
        { error_description: err.description },
        "authorization request refused: untrusted client or redirect_uri",
      );
      sendPage(res, 400, renderErrorPage(err.description));
      return;
    }
    if (err instanceof AuthorizeError) {
      logger.warn(
        { error: err.error, error_description: err.description },
        `authorization request refused: ${err.error}`,
      );
      sendRedirect(
        res,
        redirectBack(err.target.redirectUri, issuer, {
          error: err.error,
          error_description: err.description,
          state: err.target.state,
        }),
      );
      return;
    }
    throw err;
  };

  async function get(req: HttpRequest, res: HttpResponse) {
    const params = parseQuery(req.url, untrusted);
    showPage(res, await validate(params), 200);
  }

  async function post(req: HttpRequest, res: HttpResponse) {
    const type = (headerOf(req, "content-type") ?? "").split(";")[0]?.trim().toLowerCase();
    const body = type === "application/x-www-form-urlencoded" ? await readBody(req, MAX_FORM) : undefined;
    if (body === undefined) throw new UntrustedRedirectError("the form could not be read");
    const form = parseParameters(body, untrusted);
    // The form and its cookie must come from the same browser, and the post from our own page: the
    // double-submitted CSRF value (HttpOnly, SameSite=Strict cookie = form field) proves it, once.
    // Origin is checked too when the browser names one; `null` is what Chromium sends when a
    // privacy setting or referrer policy hides it, so it proves nothing either way.
    const origin = headerOf(req, "origin");
    const posted = form.get(CSRF_FIELD) ?? undefined;
    const foreignOrigin = origin !== undefined && origin !== "null" && origin !== new URL(issuer).origin;
    if (foreignOrigin || !csrfMatches(headerOf(req, "cookie"), posted) || !spentCsrf.spend(posted ?? "")) {
      throw new UntrustedRedirectError(
        "the form was not submitted from this server's login page; open it again from the application",
      );
    }
    const params = new URLSearchParams();
    for (const name of REQUEST_PARAMETERS) for (const v of form.getAll(name)) params.append(name, v);
    const request = await validate(params);
    const target = { redirectUri: request.redirectUri, state: request.state };
    if (form.get("decision") === "deny")
      throw new AuthorizeError("access_denied", "the user denied the request", target);

    const email = form.get("email") ?? "";
    const address = clientAddressFrom(
      headerOf(req, "x-forwarded-for"),
      deps.trustedProxyHops,
      req.socket.remoteAddress,
    );
    const checked = await deps.checkCredentials(email, form.get("password") ?? "", address);
    if (!checked.ok) {
      const message =
        checked.reason === "throttled"
          ? `Too many failed sign-in attempts; try again in ${checked.retryAfterSec} s.`
          : "Invalid email or password.";
      showPage(res, request, checked.reason === "throttled" ? 429 : 401, { email, message });
      return;
    }
    const scopes = grantedScopes(request.scope, checked.user.scopes);
    if (scopes.length === 0)
      throw new AuthorizeError("invalid_scope", "you hold none of the requested scopes", target);
    const code = await deps.codes.create(
      {
        clientId: request.client.clientId,
        userId: checked.user.id,
        redirectUri: request.redirectUri,
        codeChallenge: request.codeChallenge,
        scope: scopes.join(" "),
        resource: request.resource,
      },
      CODE_LIFETIME_SEC,
    );
    logger.info(
      {
        client_id: request.client.clientId,
        user_id: checked.user.id,
        scope: scopes.join(" "),
        redirect_origin: originOf(request.redirectUri),
      },
      "oauth authorization granted",
    );
    sendRedirect(res, redirectBack(request.redirectUri, issuer, { code, state: request.state }));
  }

  return async (req: HttpRequest, res: HttpResponse) => {
    try {
      if (req.method === "GET") await get(req, res);
      else if (req.method === "POST") await post(req, res);
      else {
        res.writeHead(405, { allow: "GET, POST", "content-type": "text/plain" });
        res.end("method not allowed\n");
      }
    } catch (err) {
      refuse(res, err);
    }
  };
}

// Malformed parameters (input/request-parameters.ts) leave no trustworthy client or redirect URI.
const untrusted = (description: string) => new UntrustedRedirectError(description);

function originOf(uri: string): string {
  const url = new URL(uri);
  return url.origin !== "null" ? url.origin : `${url.protocol}`;
}
