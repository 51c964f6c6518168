/**
 * Redirect URI rules (docs/identity.md, "Redirect URIs"): what a client may register. oidc-provider
 * compares a requested URI with the registered ones exactly (OAuth 2.1 §2.3.1); what it lets a web
 * client register is wider (http to any host), so registration is held to this first
 * (provider/endpoint-policy/registration-problem.ts).
 */

const MAX_URI = 2_000;
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);
/** Schemes no redirect may use: they run code or read files in the browser. */
const FORBIDDEN_SCHEMES = new Set(["javascript:", "data:", "file:", "vbscript:", "blob:", "about:"]);

/** Why a URI can't be registered, or undefined when it can. */
export function redirectUriProblem(uri: string): string | undefined {
  if (uri.length === 0 || uri.length > MAX_URI) return "must be 1–2000 characters";
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return "is not an absolute URI";
  }
  if (url.hash !== "" || uri.includes("#")) return "must not contain a fragment";
  if (url.username !== "" || url.password !== "") return "must not contain user information";
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `the ${url.protocol} scheme is not allowed`;
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:") {
    return isLoopbackRedirect(url)
      ? undefined
      : "http is allowed only for loopback (127.0.0.1, [::1], localhost)";
  }
  // RFC 8252 §7.1: a private-use scheme is a reverse domain name (com.example.app:/callback).
  return url.protocol.includes(".")
    ? undefined
    : "a private-use scheme must be a reverse domain name (e.g. com.example.app)";
}

/** An http redirect URI on the loopback interface (RFC 8252 §7.3): the user's own machine. */
export function isLoopbackRedirect(url: URL): boolean {
  return url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname);
}
