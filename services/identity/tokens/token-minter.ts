import { randomUUID } from "node:crypto";
import * as jose from "jose";
import type { Actor } from "../../kit/auth/principal.js";
import type { ActiveSigner } from "../keys/key-ring.js";

/** Who a user token is about: the user and the login session. */
export interface TokenSubject {
  readonly userId: string;
  readonly email: string;
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
  readonly sessionId: string;
}

/** RFC 9396 authorization details entry naming the acting agent's tool allow-list. */
export interface AgentToolsDetail {
  readonly type: "agent_tools";
  readonly agent: string;
  readonly tools: readonly string[];
}

interface Lifetime {
  readonly audience: string;
  /** `exp` = `iat` + this, computed from the same clock reading as `iat` (so exp − iat is exact). */
  readonly lifetimeSec: number;
  /** Epoch seconds `exp` must not pass (an exchanged token ends with its subject token). */
  readonly notAfter?: number;
}

/** A user access token (login, refresh) or an MCP token (exchange: `actor`, `authorizationDetails`). */
export interface MintRequest extends Lifetime {
  readonly subject: TokenSubject;
  /** RFC 8693 §4.1 `act`: the delegation chain, current actor outermost. */
  readonly actor?: Actor;
  readonly authorizationDetails?: readonly AgentToolsDetail[];
}

/** A service token (client credentials, docs/architecture.md "The delegation chain"). */
export interface ServiceMintRequest extends Lifetime {
  /** The calling service: `sub` and `client_id`. */
  readonly clientId: string;
  /** The registered agent the calling service runs. */
  readonly agent?: string;
}

export interface MintedToken {
  readonly token: string;
  readonly jti: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

export interface TokenMinter {
  mint(request: MintRequest): Promise<MintedToken>;
  mintService(request: ServiceMintRequest): Promise<MintedToken>;
}

/**
 * Signs RFC 9068-style access tokens (docs/identity.md, "Access tokens"): header `typ: at+jwt`, `alg`, `kid`. The one place
 * tokens are built, so login, refresh, exchange and service tokens cannot drift apart:
 * - user and MCP tokens: iss, aud, sub (user), email, roles, scope, sid, jti, iat, nbf, exp, plus
 *   `act` and `authorization_details` on exchanged tokens;
 * - service tokens: iss, aud (one service), sub = client_id (the calling service), jti, iat, nbf,
 *   exp, and `agent` when named — no sid, email or scope, so neither kind can pass for the other
 *   (services/kit/auth/service-identity.ts).
 */
export function createTokenMinter(options: { issuer: string; signer: () => ActiveSigner }): TokenMinter {
  const sign = async (claims: jose.JWTPayload, lifetime: Lifetime): Promise<MintedToken> => {
    const signer = options.signer();
    const issuedAt = Math.floor(Date.now() / 1000);
    const expiresAt = Math.min(
      issuedAt + lifetime.lifetimeSec,
      lifetime.notAfter ?? Number.POSITIVE_INFINITY,
    );
    const jti = randomUUID();
    const payload: jose.JWTPayload = {
      iss: options.issuer,
      aud: lifetime.audience,
      ...claims,
      jti,
      iat: issuedAt,
      nbf: issuedAt,
      exp: expiresAt,
    };
    const token = await new jose.SignJWT(payload)
      .setProtectedHeader({ alg: signer.alg, typ: "at+jwt", kid: signer.kid })
      .sign(signer.key);
    return { token, jti, issuedAt, expiresAt };
  };

  return {
    mint(request) {
      const { subject, actor, authorizationDetails } = request;
      return sign(
        {
          sub: subject.userId,
          email: subject.email,
          roles: [...subject.roles],
          scope: subject.scopes.join(" "),
          sid: subject.sessionId,
          ...(actor ? { act: actClaim(actor) } : {}),
          ...(authorizationDetails
            ? { authorization_details: authorizationDetails.map((d) => ({ ...d, tools: [...d.tools] })) }
            : {}),
        },
        request,
      );
    },
    mintService(request) {
      return sign(
        {
          sub: request.clientId,
          client_id: request.clientId,
          ...(request.agent !== undefined ? { agent: request.agent } : {}),
        },
        request,
      );
    },
  };
}

/** Copies only the chain's own fields (a Principal's actor may carry nothing else, but be exact). */
function actClaim(actor: Actor): Record<string, unknown> {
  return {
    sub: actor.sub,
    ...(actor.agent !== undefined ? { agent: actor.agent } : {}),
    ...(actor.act ? { act: actClaim(actor.act) } : {}),
  };
}
