import { interactionPolicy } from "oidc-provider";
import { INTERACTION_PREFIX } from "../interaction/login-interaction.js";

/** Where the provider sends a browser to sign in, and when (`interactions` of the configuration). */
export function signInInteractions() {
  return {
    url: (_ctx: unknown, interaction: { uid: string }) => `${INTERACTION_PREFIX}${interaction.uid}`,
    policy: signInEveryTime(),
  };
}

/**
 * The provider's prompts with one change: every authorization signs in (no single sign-on from an
 * earlier authorization in the same browser), and consent is given on the same page.
 */
function signInEveryTime() {
  const policy = interactionPolicy.base();
  const login = policy.get("login");
  login?.checks.add(
    new interactionPolicy.Check(
      "sign_in_every_time",
      "every authorization is signed in",
      (ctx: { oidc: { result?: { login?: unknown } } }) =>
        ctx.oidc.result?.login
          ? interactionPolicy.Check.NO_NEED_TO_PROMPT
          : interactionPolicy.Check.REQUEST_PROMPT,
    ),
  );
  return policy;
}
