import { createHash, timingSafeEqual } from "node:crypto";
import type { RegisteredClient } from "../clients/client-registry.js";
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

/** HTTP Basic client credentials (RFC 6749 §2.3.1), for every client the token endpoint serves. */
export function parseBasic(header: string | undefined): { id: string; secret: string } | undefined {
  if (!header) return undefined;
  const m = /^\s*Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m?.[1]) throw invalidRequest("the Authorization header is not HTTP Basic client authentication");
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) throw invalidRequest("malformed HTTP Basic credentials");
  try {
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw invalidRequest("malformed HTTP Basic credentials");
  }
}

// RFC 6749 §2.3.1: the id and secret are application/x-www-form-urlencoded before Basic encoding.
function formDecode(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, " "));
}

// Hashing first gives equal-length inputs, so timingSafeEqual applies whatever was sent.
/** Constant-time comparison of two secrets of any length (both hashed first). */
export function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(a), digest(b));
}
