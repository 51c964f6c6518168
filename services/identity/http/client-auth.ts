import { createHash, timingSafeEqual } from "node:crypto";
import { STRICT, textProblem } from "../../kit/input/clean-text.js";
import type { RegisteredClient } from "../clients/client-registry.js";
import { decodeComponent } from "../input/request-parameters.js";
import type { Form } from "./form-body.js";
import { invalidRequest, OAuthError } from "./oauth-response.js";

/**
 * Authenticates the client of a token request (RFC 6749 §2.3.1): `client_secret_basic`
 * (Authorization: Basic, id and secret form-urlencoded first) or `client_secret_post` (client_id
 * and client_secret in the body); using both is refused. Failures are 401 invalid_client with a
 * Basic challenge (§5.2). Returns the authenticated client.
 */
export function authenticateClient(
  authorization: string | undefined,
  form: Form,
  clients: readonly RegisteredClient[],
  realm: string,
): RegisteredClient {
  const challenge = { "www-authenticate": `Basic realm="${realm}", charset="UTF-8"` };
  if (authorization && !/^\s*Basic\s/i.test(authorization)) {
    throw new OAuthError(
      401,
      "invalid_client",
      "unsupported client authentication scheme; use HTTP Basic",
      challenge,
    );
  }
  const fromHeader = parseBasic(authorization);
  const postedId = form.get("client_id");
  const postedSecret = form.get("client_secret");
  if (fromHeader && (postedSecret !== undefined || (postedId !== undefined && postedId !== fromHeader.id))) {
    throw invalidRequest(
      "use one client authentication method: HTTP Basic or client_secret in the body, not both",
    );
  }
  const presented =
    fromHeader ??
    (postedId !== undefined && postedSecret !== undefined
      ? { id: postedId, secret: postedSecret }
      : undefined);
  if (!presented) throw new OAuthError(401, "invalid_client", "client authentication is required", challenge);

  // Compare every registered client in full, so timing says nothing about which part was wrong.
  let match: RegisteredClient | undefined;
  for (const client of clients) {
    const idOk = sameSecret(presented.id, client.clientId);
    const secretOk = sameSecret(presented.secret, client.clientSecret);
    if (idOk && secretOk) match = client;
  }
  if (!match) throw new OAuthError(401, "invalid_client", "client authentication failed", challenge);
  return match;
}

/**
 * HTTP Basic client credentials (RFC 6749 §2.3.1), for every client the token endpoint serves:
 * the id and secret are form-urlencoded before Basic encoding, so they are decoded with the same
 * strict rules as the body's parameters (input/request-parameters.ts) — no control characters,
 * UTF-8 only — and a malformed header is invalid_request.
 */
export function parseBasic(header: string | undefined): { id: string; secret: string } | undefined {
  if (!header) return undefined;
  const m = /^\s*Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m?.[1]) throw invalidRequest("the Authorization header is not HTTP Basic client authentication");
  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(m[1], "base64"));
  } catch {
    throw invalidRequest("malformed HTTP Basic credentials");
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) throw invalidRequest("malformed HTTP Basic credentials");
  const refuse = () => invalidRequest("malformed HTTP Basic credentials");
  const id = decodeComponent(decoded.slice(0, colon), refuse);
  const secret = decodeComponent(decoded.slice(colon + 1), refuse);
  if (textProblem(id, STRICT) ?? textProblem(secret, STRICT)) throw refuse();
  return { id, secret };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

// Hashing first gives equal-length inputs, so timingSafeEqual applies whatever was sent.
/** Constant-time comparison of two secrets of any length (both hashed first). */
export function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(a), digest(b));
}
