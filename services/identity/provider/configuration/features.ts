import { type Configuration, errors } from "oidc-provider";
import type { ResourceServers } from "../resource-servers.js";

export interface FeatureDeps {
  readonly resources: ResourceServers;
  /** Client ID Metadata Documents: which URLs may be fetched (metadata-documents.ts). */
  readonly allowMetadataFetch: (ctx: unknown, clientId: string) => Promise<boolean>;
  /** …and which of the clients they describe are taken (the redirect URI rules). */
  readonly allowMetadataClient: (ctx: unknown, client: unknown) => Promise<boolean>;
}

const clientIdOf = (client: unknown) => (client as { clientId?: string } | undefined)?.clientId;

/**
 * The library features the product uses — RFC 7591 registration, RFC 7009 revocation, RFC 8707
 * resource indicators (each client gets its one resource), Client ID Metadata Documents — and
 * those it turns off: whatever no flow of the product uses is not served, so it is not attack
 * surface (pushed authorization requests, RP-initiated logout and DPoP are the library's defaults; our
 * clients end a session by RFC 7009 revocation or AuthService.Logout, docs/identity.md).
 */
export function providerFeatures(deps: FeatureDeps): Configuration["features"] {
  return {
    devInteractions: { enabled: false },
    userinfo: { enabled: false },
    pushedAuthorizationRequests: { enabled: false },
    rpInitiatedLogout: { enabled: false },
    // DPoP (RFC 9449) binds a token to the client's key, and is worth that only where every
    // resource server checks the proof on each call; none of ours does (`/mcp` and every service
    // take Bearer tokens, kit/auth), so a bound token would be taken as a plain one there. Off:
    // not advertised, a DPoP header is not honoured, every token is a Bearer token.
    dPoP: { enabled: false },
    clientCredentials: { enabled: false },
    registration: { enabled: true, initialAccessToken: false },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (_ctx, client) => deps.resources.resourceFor(clientIdOf(client)),
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource, client) => {
        // Each client gets its one resource: our own clients the API, MCP clients the MCP server.
        const target = deps.resources.resourceFor(clientIdOf(client));
        if (resource !== target)
          throw new errors.InvalidTarget(`this client's tokens are for ${target} only`);
        return deps.resources.info(target);
      },
    },
    clientIdMetadataDocument: {
      enabled: true,
      ack: "draft-02",
      allowFetch: deps.allowMetadataFetch,
      allowClient: deps.allowMetadataClient,
    },
  };
}
