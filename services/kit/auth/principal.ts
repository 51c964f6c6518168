/**
 * One link of the delegation chain (RFC 8693 §4.1 `act`): a party acting for the user. The
 * current actor is outermost; each `act` inside names the actor before it. `sub` is the acting
 * client (a service id, see `service-identity.ts`); `agent` names the AI agent that client ran.
 */
export interface Actor {
  readonly sub: string;
  readonly agent?: string;
  readonly act?: Actor;
}

/**
 * Who is calling: the verified identity carried by an access token.
 * Built only by the token verifier (or the explicit development fallback), never from unverified input.
 */
export interface Principal {
  /** `sub`: the user id. */
  readonly userId: string;
  readonly email: string;
  readonly roles: readonly string[];
  /** `scope`, split on spaces. */
  readonly scopes: readonly string[];
  /** `sid`: the login session the token belongs to. */
  readonly sessionId: string;
  /** `jti`: this token's id. */
  readonly tokenId: string;
  /** `exp` in epoch seconds. */
  readonly expiresAt: number;
  /** `act`: the delegation chain, current actor outermost, when the token was exchanged. */
  readonly actor?: Actor;
  /**
   * The acting agent's tool allow-list, from the token's RFC 9396 `authorization_details` entry of
   * type `agent_tools`; undefined when no agent narrows the token (a user's own token).
   */
  readonly agentTools?: readonly string[];
  /** True only for the `AUTH_DEV_ANONYMOUS` development principal. */
  readonly anonymous: boolean;
}

/** Whether the principal holds every one of `required`. */
export function hasScopes(principal: Principal, required: readonly string[]): boolean {
  return required.every((s) => principal.scopes.includes(s));
}

/** The delegation chain as a list, current actor first (the order of nested `act` claims). */
export function actorChain(principal: Pick<Principal, "actor">): Actor[] {
  const chain: Actor[] = [];
  for (let a = principal.actor; a; a = a.act) chain.push(a);
  return chain;
}

/** The agent acting for the user: the first link of the chain that names one. */
export function actingAgent(principal: Pick<Principal, "actor">): string | undefined {
  return actorChain(principal).find((a) => a.agent !== undefined)?.agent;
}

/** "mcp-gateway ← agent(ticket-reader)": the chain for log lines and audit displays. */
export function describeChain(principal: Pick<Principal, "actor">): string {
  return actorChain(principal)
    .map((a) => (a.agent ? `${a.sub}(${a.agent})` : a.sub))
    .join(" ← ");
}

/** Fixed principal of the development fallback (docs/mcp-server.md, "Development fallback"): read-only, clearly named. */
export const DEV_ANONYMOUS_PRINCIPAL: Principal = Object.freeze({
  userId: "dev-anonymous",
  email: "dev-anonymous@localhost",
  roles: Object.freeze(["viewer"]),
  scopes: Object.freeze(["tickets:read", "integrations:read"]),
  sessionId: "dev-anonymous",
  tokenId: "dev-anonymous",
  expiresAt: Number.MAX_SAFE_INTEGER,
  anonymous: true,
});
