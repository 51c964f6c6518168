import {
  AuthError,
  createServiceTokenVerifier,
  SERVICE_IDS,
  type ServiceCaller,
  type ServiceTokenVerifier,
} from "#kit/auth/index.js";
import type { AgentDirectory, RegisteredAgent } from "../agents/agent-directory.js";
import { lookupAgent } from "../agents/lookup-agent.js";
import { OAuthError } from "../http/oauth-response.js";
import type { KeyRing } from "../keys/key-ring.js";

export interface ActorTokenOptions {
  readonly keyRing: KeyRing;
  readonly issuer: string;
  readonly clockToleranceSec: number;
  readonly agents: AgentDirectory;
}

/** The proven actor of an exchange: the agent service, running a registered agent. */
export interface VerifiedActor {
  readonly caller: ServiceCaller;
  readonly agent: RegisteredAgent;
}

/** Checks an RFC 8693 `actor_token` presented by the client `clientId`. */
export type ActorTokenCheck = (token: string, clientId: string) => Promise<VerifiedActor>;

/**
 * The actor token is the service token the agent service sent the gateway (docs/architecture.md,
 * "The exchange with an actor"). It must verify with the kit's service-token verifier against our
 * own key ring (signature, algorithm, `typ`, `iss`, `exp`/`nbf`, `client_id` = `sub`, no `sid`),
 * be addressed to the client presenting it (`aud` = that client: a token the agent got for
 * another service can't be replayed here), come from the agent service, and name a registered
 * agent. Any failure is invalid_grant with the reason; a registry we can't ask is 503.
 */
export function createActorTokenCheck(options: ActorTokenOptions): ActorTokenCheck {
  // One verifier per audience (in practice one: only the gateway may exchange). Like the edge
  // verifier, they are rebuilt when a key is removed, so its tokens stop verifying at once.
  let verifiers = new Map<string, ServiceTokenVerifier>();
  options.keyRing.onKeysRemoved(() => {
    verifiers = new Map();
  });
  const verifierFor = (audience: string): ServiceTokenVerifier => {
    let v = verifiers.get(audience);
    if (!v) {
      v = createServiceTokenVerifier({
        issuer: options.issuer,
        audience,
        keys: options.keyRing.resolveKey,
        clockToleranceSec: options.clockToleranceSec,
      });
      verifiers.set(audience, v);
    }
    return v;
  };

  return async (token, clientId) => {
    let caller: ServiceCaller;
    try {
      caller = await verifierFor(clientId).verify(token);
    } catch (err) {
      // AuthError messages start with a stable reason and never contain the token.
      if (err instanceof AuthError) throw new OAuthError(400, "invalid_grant", `actor_token: ${err.message}`);
      throw err;
    }
    if (caller.clientId !== SERVICE_IDS.agent) {
      throw new OAuthError(
        400,
        "invalid_grant",
        `actor_token: issued to "${caller.clientId}"; only the agent service acts for users here`,
      );
    }
    if (caller.agent === undefined) {
      throw new OAuthError(400, "invalid_grant", "actor_token: names no agent (no agent claim)");
    }
    const agent = await lookupAgent(options.agents, caller.agent);
    if (!agent) {
      throw new OAuthError(400, "invalid_grant", `actor_token: agent "${caller.agent}" is not registered`);
    }
    return { caller, agent };
  };
}
