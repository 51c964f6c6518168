import { createHmac, randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as jose from "jose";

/**
 * A real token issuer for tests: an ES256 key pair whose public JWKS is served over HTTP on
 * loopback, so verifiers under test fetch keys exactly as they do in production. It can also
 * forge every kind of bad token the verifier must refuse.
 */
export interface TestIssuer {
  readonly issuer: string;
  readonly jwksUrl: URL;
  /** How many times the JWKS was fetched, failed fetches included (to prove caching and rate limits). */
  readonly jwksFetches: number;
  /** While on, the JWKS endpoint answers 500 (an issuer outage). */
  failJwks(on: boolean): void;
  mint(claims?: TokenClaims, options?: MintOptions): Promise<string>;
  /** A second key, published in the JWKS only after `rotate()`. */
  rotate(): Promise<void>;
  /** Bad tokens of each kind, built from a valid claim set. */
  forge(kind: ForgeKind, claims?: TokenClaims): Promise<string>;
  close(): Promise<void>;
}

export interface TokenClaims {
  sub?: string;
  email?: string;
  roles?: string[];
  scope?: string;
  sid?: string;
  aud?: string | string[];
  /** RFC 8693 §4.1 delegation chain: the current actor outermost, earlier actors nested. */
  act?: ActClaim;
  /** RFC 9396 authorization details, e.g. `[{ type: "agent_tools", agent, tools }]`. */
  authorization_details?: AuthorizationDetail[];
  [claim: string]: unknown;
}

export interface ActClaim {
  sub: string;
  agent?: string;
  act?: ActClaim;
}

export interface AuthorizationDetail {
  type: string;
  [field: string]: unknown;
}

export interface MintOptions {
  /** Seconds from now; negative for already expired. */
  expiresIn?: number;
  /** Seconds from now the token becomes valid. */
  notBefore?: number;
  issuer?: string;
  typ?: string;
  /** Sign with the rotated-in key. */
  useNextKey?: boolean;
}

export type ForgeKind =
  | "alg_none"
  | "hs256_with_public_key"
  | "bad_signature"
  | "unknown_kid"
  | "no_kid"
  | "not_a_jwt";

export async function startTestIssuer(options: { audience: string }): Promise<TestIssuer> {
  const current = await newKey("test-key-1");
  const next = await newKey("test-key-2");
  const stranger = await newKey("stranger-key");
  const published = [current.jwk];
  let fetches = 0;
  let failing = false;

  const server = http.createServer((req, res) => {
    if (req.url === "/.well-known/jwks.json") {
      fetches++;
      if (failing) {
        res.writeHead(500, { "content-type": "text/plain" }).end("outage");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: published }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function payload(claims: TokenClaims): jose.JWTPayload {
    const { aud, ...rest } = claims;
    return {
      email: "user@example.com",
      roles: ["admin"],
      scope: "tickets:read",
      sid: randomUUID(),
      jti: randomUUID(),
      aud: aud ?? options.audience,
      ...rest,
      sub: claims.sub ?? "user-1",
    };
  }

  async function sign(key: TestKey, claims: TokenClaims, opts: MintOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new jose.SignJWT(payload(claims))
      .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: opts.typ ?? "at+jwt" })
      .setIssuer(opts.issuer ?? issuer)
      .setIssuedAt(now)
      .setNotBefore(now + (opts.notBefore ?? 0))
      .setExpirationTime(now + (opts.expiresIn ?? 900))
      .sign(key.privateKey);
  }

  return {
    issuer,
    jwksUrl: new URL(`${issuer}/.well-known/jwks.json`),
    get jwksFetches() {
      return fetches;
    },
    failJwks(on) {
      failing = on;
    },
    mint: (claims = {}, opts = {}) => sign(opts.useNextKey ? next : current, claims, opts),
    async rotate() {
      if (!published.includes(next.jwk)) published.push(next.jwk);
    },
    async forge(kind, claims = {}) {
      const valid = await sign(current, claims);
      const [h, p, s] = valid.split(".") as [string, string, string];
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
      switch (kind) {
        case "alg_none":
          return `${b64({ alg: "none", typ: "at+jwt" })}.${p}.`;
        case "hs256_with_public_key": {
          // The classic key-confusion attack: HMAC keyed with the issuer's public key.
          const header = b64({ alg: "HS256", kid: current.kid, typ: "at+jwt" });
          const secret = JSON.stringify(current.jwk);
          const sig = createHmac("sha256", secret).update(`${header}.${p}`).digest("base64url");
          return `${header}.${p}.${sig}`;
        }
        case "bad_signature": {
          // Same header, altered payload: the signature no longer matches.
          const altered = b64({ ...JSON.parse(Buffer.from(p, "base64url").toString()), sub: "someone-else" });
          return `${h}.${altered}.${s}`;
        }
        case "unknown_kid":
          return sign(stranger, claims);
        case "no_kid": {
          // Signed by the current key, which the JWKS publishes, but not naming it.
          const now = Math.floor(Date.now() / 1000);
          return new jose.SignJWT(payload(claims))
            .setProtectedHeader({ alg: "ES256", typ: "at+jwt" })
            .setIssuer(issuer)
            .setIssuedAt(now)
            .setExpirationTime(now + 900)
            .sign(current.privateKey);
        }
        case "not_a_jwt":
          return "this-is-not-a-jwt";
      }
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

interface TestKey {
  kid: string;
  privateKey: jose.CryptoKey;
  jwk: jose.JWK;
}

async function newKey(kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
  return { kid, privateKey: privateKey as jose.CryptoKey, jwk };
}
