import type { HttpRequest, HttpResponse } from "#kit/server/index.js";
import {
  INTERACTION_PREFIX,
  type InteractionParams,
  originOf,
  requestedScopes,
  resourceOf,
} from "./interaction-params.js";
import { renderLoginPage, sendPage } from "./login-page.js";
import type { LoginInteractionDeps } from "./sign-in-deps.js";

/** The sign-in page of the interaction: which client asks, for which resource and scopes. */
export async function showSignIn(
  deps: Pick<LoginInteractionDeps, "provider" | "defaultResource">,
  req: HttpRequest,
  res: HttpResponse,
  status = 200,
  extra: { email?: string; message?: string } = {},
): Promise<void> {
  const provider = deps.provider();
  const details = await provider.interactionDetails(req, res);
  const params = details.params as InteractionParams;
  const client = params.client_id ? await provider.Client.find(params.client_id) : undefined;
  const requested = requestedScopes(params);
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
