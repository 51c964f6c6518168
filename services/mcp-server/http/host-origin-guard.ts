/**
 * DNS-rebinding protection (MCP transport spec: servers MUST validate `Origin`): a browser page on
 * an attacker's domain that resolves to our address sends its own Host and Origin, which are not on
 * these lists. Requests without an Origin (curl, the gateway, other servers) are not browser
 * requests and pass the Origin check; every request must name an allowed Host.
 */
export interface HostOriginGuard {
  /** An error message, or undefined when allowed. */
  checkHost(host: string | undefined): string | undefined;
  checkOrigin(origin: string | undefined): string | undefined;
  readonly allowedHosts: readonly string[];
  readonly allowedOrigins: readonly string[];
}

export function createHostOriginGuard(
  allowedHosts: Iterable<string>,
  allowedOrigins: Iterable<string>,
): HostOriginGuard {
  const hosts = new Set([...allowedHosts].map((h) => h.toLowerCase()));
  const origins = new Set([...allowedOrigins].map((o) => o.toLowerCase().replace(/\/+$/, "")));
  const anyHost = hosts.has("*");
  return {
    allowedHosts: [...hosts],
    allowedOrigins: [...origins],
    checkHost(host) {
      if (anyHost) return undefined;
      if (!host) return "Forbidden: the request has no Host header";
      return hosts.has(host.toLowerCase()) ? undefined : `Forbidden: Host "${host}" is not allowed`;
    },
    checkOrigin(origin) {
      if (origin === undefined) return undefined;
      return origins.has(origin.toLowerCase()) ? undefined : `Forbidden: Origin "${origin}" is not allowed`;
    },
  };
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0", "::"]);

/**
 * Default allow-lists: the resource URI's own host and origin, plus this listener's loopback names
 * when it listens on loopback or on all interfaces. Configured lists are added to the resource's.
 */
export function defaultAllowLists(
  resource: URL,
  bind: { host: string; port: number },
  configured: { hosts: readonly string[]; origins: readonly string[] },
): { hosts: string[]; origins: string[] } {
  const hosts = new Set<string>([resource.host, ...configured.hosts]);
  const origins = new Set<string>([resource.origin, ...configured.origins]);
  if (configured.hosts.length === 0) {
    if (LOOPBACK.has(bind.host)) {
      for (const name of ["127.0.0.1", "localhost", "[::1]"]) hosts.add(`${name}:${bind.port}`);
    } else {
      hosts.add(`${bind.host.includes(":") ? `[${bind.host}]` : bind.host}:${bind.port}`);
    }
  }
  return { hosts: [...hosts], origins: [...origins] };
}
