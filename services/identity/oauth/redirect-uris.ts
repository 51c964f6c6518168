/**
 * Redirect URI rules (docs/identity.md, "Redirect URIs"): what a client may register, and how a
 * requested URI is matched against the registered ones — exact string comparison (OAuth 2.1
 * §2.3.1), except that a loopback redirect may use any port (RFC 8252 §7.3: native apps pick an
 * ephemeral port when they start).
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
    return LOOPBACK_HOSTS.has(url.hostname)
      ? undefined
      : "http is allowed only for loopback (127.0.0.1, [::1], localhost)";
  }
  // RFC 8252 §7.1: a private-use scheme is a reverse domain name (com.example.app:/callback).
  return url.protocol.includes(".")
    ? undefined
    : "a private-use scheme must be a reverse domain name (e.g. com.example.app)";
}

export function isLoopbackRedirect(uri: string): boolean {
  try {
    const url = new URL(uri);
    return url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname);
  } catch {
    return false;
  }
}

/** The registered URI `requested` matches, if any. */
export function matchRedirectUri(requested: string, registered: readonly string[]): string | undefined {
  if (registered.includes(requested)) return requested;
  if (!isLoopbackRedirect(requested)) return undefined;
  const withoutPort = (uri: string) => {
    const url = new URL(uri);
    url.port = "";
    return url.href;
  };
  // Only the port may differ; the requested string must be exactly its own serialization, so no
  // alternative spelling (case, dot segments, encodings) slips past the comparison.
  if (new URL(requested).href !== requested) return undefined;
  const target = withoutPort(requested);
  return registered.find((r) => isLoopbackRedirect(r) && withoutPort(r) === target);
}
