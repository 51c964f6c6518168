import { SCOPES } from "../../kit/auth/scopes.js";

/**
 * The scopes a grant carries: what the client asked for ∩ what the user holds, in the kit's order;
 * unknown scopes are dropped (RFC 6749 §3.3 lets the server narrow). A client that asks for nothing
 * gets the user's scopes — MCP clients often omit `scope` when the server advertises none.
 */
export function grantedScopes(requested: string | undefined, userScopes: readonly string[]): string[] {
  const held = new Set(userScopes);
  const asked =
    requested === undefined || requested.trim() === ""
      ? undefined
      : new Set(requested.split(" ").filter(Boolean));
  return SCOPES.filter((s) => held.has(s) && (asked === undefined || asked.has(s)));
}
