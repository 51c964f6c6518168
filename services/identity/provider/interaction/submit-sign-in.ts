import type { InteractionResult, Provider } from "oidc-provider";
import type { HttpRequest, HttpResponse } from "#kit/server/index.js";
import { clientAddressFrom } from "../../throttle/client-address.js";
import type { UserRecord } from "../../users/user-store.js";
import {
  header,
  type InteractionParams,
  originOf,
  requestedScopes,
  resourceOf,
} from "./interaction-params.js";
import { renderErrorPage, sendPage } from "./login-page.js";
import { showSignIn } from "./show-sign-in.js";
import type { LoginInteractionDeps } from "./sign-in-deps.js";

/**
 * The sign-in form posted: a denial ends the authorization with `access_denied`; the credentials
 * are checked with the login throttle (a failure shows the page again); a user holding none of the
 * requested scopes ends it with `invalid_scope`; otherwise the grant is made.
 */
export async function submitSignIn(
  deps: LoginInteractionDeps,
  req: HttpRequest,
  res: HttpResponse,
): Promise<void> {
  // Our own page posts here; Chromium sends `Origin: null` when a referrer policy hides it.
  const origin = header(req, "origin");
  if (origin !== undefined && origin !== "null" && origin !== new URL(deps.issuer).origin) {
    sendPage(res, 403, renderErrorPage("the form was not submitted from this server's login page"));
    return;
  }
  const provider = deps.provider();
  const details = await provider.interactionDetails(req, res);
  const params = details.params as InteractionParams;
  const form = new URLSearchParams((req as HttpRequest & { body?: string }).body ?? "");
  if (form.get("decision") === "deny") {
    deps.logger.info({ client_id: params.client_id }, "oauth authorization denied by the user");
    await finish(provider, req, res, {
      error: "access_denied",
      error_description: "the user denied the request",
    });
    return;
  }
  const email = form.get("email") ?? "";
  const address = clientAddressFrom(
    header(req, "x-forwarded-for"),
    deps.trustedProxyHops,
    req.socket.remoteAddress,
  );
  // A browser that left (tab closed, form posted again) stops its attempt waiting for a place.
  const left = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) left.abort();
  };
  res.once("close", onClose);
  // It may have left before this listened (while the interaction was being loaded).
  if (connectionGone(res)) left.abort();
  let checked: Awaited<ReturnType<typeof deps.checkCredentials>>;
  try {
    checked = await deps.checkCredentials(email, form.get("password") ?? "", address, left.signal);
  } finally {
    res.off("close", onClose);
  }
  if (!checked.ok) {
    if (checked.reason === "throttled") {
      // RFC 6585 §4: how long to wait, for the browser and for whoever scripts it.
      res.setHeader("Retry-After", String(checked.retryAfterSec));
      const what =
        checked.refusal === "busy"
          ? "Too many sign-in attempts are under way from your network"
          : "Too many failed sign-in attempts";
      const message = `${what}; try again in ${checked.retryAfterSec} s.`;
      await showSignIn(deps, req, res, 429, { email, message });
      return;
    }
    await showSignIn(deps, req, res, 401, { email, message: "Invalid email or password." });
    return;
  }
  await grantSignedInUser(deps, provider, { req, res }, params, checked.user);
}

/**
 * The grant of a signed-in user: the requested scopes they hold, on the resource asked for; the
 * grant is the login session (its id is every token's `sid`).
 */
async function grantSignedInUser(
  deps: LoginInteractionDeps,
  provider: Provider,
  { req, res }: { readonly req: HttpRequest; readonly res: HttpResponse },
  params: InteractionParams,
  user: UserRecord,
): Promise<void> {
  const resource = resourceOf(params, deps.defaultResource(params.client_id ?? ""));
  const requested = requestedScopes(params);
  const granted = requested.filter((s) => user.scopes.includes(s));
  if (granted.length === 0) {
    await finish(provider, req, res, {
      error: "invalid_scope",
      error_description: "you hold none of the requested scopes",
    });
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
  deps.logger.info(
    {
      client_id: params.client_id,
      user_id: user.id,
      session_id: grantId,
      scope: granted.join(" "),
      redirect_origin: originOf(params.redirect_uri ?? ""),
    },
    "oauth authorization granted",
  );
  await finish(provider, req, res, { login: { accountId: user.id, remember: false }, consent: { grantId } });
}

/** Ends the interaction with its result; the provider redirects the browser back to the client. */
function finish(
  provider: Provider,
  req: HttpRequest,
  res: HttpResponse,
  result: InteractionResult,
): Promise<void> {
  return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

/** Whether the response can no longer reach the browser (its HTTP/1 socket or HTTP/2 stream closed). */
function connectionGone(res: HttpResponse): boolean {
  if ("stream" in res) return res.stream.closed || res.stream.destroyed;
  return res.closed || res.destroyed;
}
