import type * as http from "node:http";
import type * as http2 from "node:http2";

/** The response of a plain-HTTP route, as the kit's server hands it over (HTTP/1.1 or HTTP/2). */
type HttpResponse = http.ServerResponse | http2.Http2ServerResponse;

const WELL_KNOWN = "/.well-known/oauth-protected-resource";

/** RFC 9728 §3.1: the well-known segment goes between the host and the resource's path. */
export function protectedResourceMetadataPath(resource: URL): string {
  return resource.pathname === "/" ? WELL_KNOWN : `${WELL_KNOWN}${resource.pathname.replace(/\/+$/, "")}`;
}

export function protectedResourceMetadataUrl(resource: URL): string {
  return `${resource.origin}${protectedResourceMetadataPath(resource)}`;
}

/** Every path this document is served at: the RFC 9728 one for our resource, `/mcp`'s, and the root. */
export function protectedResourceMetadataPaths(resource: URL): Set<string> {
  return new Set([protectedResourceMetadataPath(resource), `${WELL_KNOWN}/mcp`, WELL_KNOWN]);
}

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported: string[];
  bearer_methods_supported: string[];
  resource_name: string;
  resource_documentation?: string;
}

/**
 * RFC 9728 metadata of a protected resource of ours: which authorization server issues its tokens
 * (clients discover the identity service from it) and how tokens are presented.
 */
export function protectedResourceMetadata(options: {
  resource: string;
  issuer: string;
  scopes: readonly string[];
  name?: string;
}): ProtectedResourceMetadata {
  return {
    resource: options.resource,
    authorization_servers: [options.issuer],
    scopes_supported: [...options.scopes],
    // Tokens in headers only: never in query strings (MCP authorization spec) or form bodies.
    bearer_methods_supported: ["header"],
    resource_name: options.name ?? "support-ext MCP server (ticket tools)",
  };
}

export function sendProtectedResourceMetadata(res: HttpResponse, metadata: ProtectedResourceMetadata): void {
  // Public metadata: browser-based clients fetch it cross-origin during discovery.
  const text = JSON.stringify(metadata);
  res.writeHead(200, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    "access-control-allow-origin": "*",
    "cache-control": "public, max-age=300",
  });
  res.end(text);
}
