import { randomUUID } from "node:crypto";
import * as jose from "jose";
import type { ActiveSigner } from "../keys/key-ring.js";

/** Who a token is about: the user and the login session. */
export interface TokenSubject {
  readonly userId: string;
  readonly email: string;
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
  readonly sessionId: string;
}

/** RFC 8693 §4.1 actor: the client acting for the user, and the agent it acts for. */
export interface TokenActor {
  readonly sub: string;
  readonly agent?: string;
}

export interface MintRequest {
  readonly subject: TokenSubject;
  readonly audience: string;
  /** `exp` = `iat` + this, computed from the same clock reading as `iat` (so exp − iat is exact). */
  readonly lifetimeSec: number;
  /** Epoch seconds `exp` must not pass (an exchanged token ends with its subject token). */
  readonly notAfter?: number;
  readonly actor?: TokenActor;
}

export interface MintedToken {
  readonly token: string;
  readonly jti: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

export interface TokenMinter {
  mint(request: MintRequest): Promise<MintedToken>;
}

/**
 * Signs RFC 9068-style access tokens (brief §3): header `typ: at+jwt`, `alg`, `kid`; claims iss,
 * aud, sub, email, roles, scope, sid, jti, iat, nbf, exp, plus `act` on exchanged tokens. The one
 * place tokens are built, so login, refresh and exchange tokens cannot drift apart.
 */
export function createTokenMinter(options: { issuer: string; signer: () => ActiveSigner }): TokenMinter {
  return {
    async mint({ subject, audience, lifetimeSec, notAfter, actor }) {
      const signer = options.signer();
      const issuedAt = Math.floor(Date.now() / 1000);
      const expiresAt = Math.min(issuedAt + lifetimeSec, notAfter ?? Number.POSITIVE_INFINITY);
      const jti = randomUUID();
      const claims: jose.JWTPayload = {
        iss: options.issuer,
        aud: audience,
        sub: subject.userId,
        email: subject.email,
        roles: [...subject.roles],
        scope: subject.scopes.join(" "),
        sid: subject.sessionId,
        jti,
        iat: issuedAt,
        nbf: issuedAt,
        exp: expiresAt,
        ...(actor ? { act: actor.agent ? { sub: actor.sub, agent: actor.agent } : { sub: actor.sub } } : {}),
      };
      const token = await new jose.SignJWT(claims)
        .setProtectedHeader({ alg: signer.alg, typ: "at+jwt", kid: signer.kid })
        .sign(signer.key);
      return { token, jti, issuedAt, expiresAt };
    },
  };
}
