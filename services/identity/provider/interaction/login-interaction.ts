import type { HttpRequest, HttpResponse } from "#kit/server/index.js";
import { renderErrorPage, sendPage } from "./login-page.js";
import { showSignIn } from "./show-sign-in.js";
import type { LoginInteractionDeps } from "./sign-in-deps.js";
import { submitSignIn } from "./submit-sign-in.js";

export { INTERACTION_PREFIX } from "./interaction-params.js";
export type { LoginInteractionDeps } from "./sign-in-deps.js";

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
  return async (req: HttpRequest, res: HttpResponse): Promise<void> => {
    try {
      if (req.method === "GET") await showSignIn(deps, req, res);
      else if (req.method === "POST") await submitSignIn(deps, req, res);
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
