import { isIP } from "node:net";
import { RegistrationError } from "../oauth-errors.js";

/**
 * The rules for a Client ID Metadata Document's URL, on the client id alone (nothing fetched or
 * resolved yet, so the refusals may say which rule failed): https, in normal form, with a path,
 * no fragment, credentials or dot segments, and a host *name*. With `allowLoopback` (development,
 * docs/identity.md) `http://127.0.0.1:<port>/…` and `http://[::1]:<port>/…` pass too.
 */
export function documentUrl(clientId: string, allowLoopback: boolean): URL {
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    throw invalid("client_id is not a valid URL");
  }
  if (url.href !== clientId) throw invalid("client_id must be a URL in normal form");
  if (url.hash || url.username || url.password)
    throw invalid("client_id must not contain a fragment or credentials");
  if (url.pathname === "/" || /\/\.\.?(\/|$)/.test(clientId))
    throw invalid("client_id must have a path without dot segments");
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const loopbackLiteral = host === "127.0.0.1" || host === "::1";
  if (url.protocol !== "https:" && !(allowLoopback && url.protocol === "http:" && loopbackLiteral)) {
    throw invalid("client_id must be an https URL");
  }
  if (!allowLoopback && isIP(host) !== 0) throw invalid("client_id must name a host, not an address");
  // RFC 6761 §6.3: localhost names are loopback by definition; no lookup needed to refuse them.
  if (!allowLoopback && (host === "localhost" || host.endsWith(".localhost"))) {
    throw invalid("client_id must name a public host");
  }
  return url;
}

const invalid = (description: string) => new RegistrationError(400, "invalid_client_metadata", description);
