import type { ResourceServer } from "oidc-provider";
import type { Config } from "#kit/config/index.js";
import { SCOPES } from "#kit/contract/index.js";
import type { KeyRing } from "../keys/key-ring.js";
import { isFirstParty } from "./first-party-clients.js";

type ResourceConfig = Pick<
  Config,
  "API_AUDIENCE" | "CHAT_URL" | "MCP_RESOURCE" | "MCP_TOKEN_TTL" | "ACCESS_TOKEN_TTL"
>;

/** The resources the provider issues JWT access tokens for (docs/identity.md, "Access tokens"). */
export interface ResourceServers {
  /** The one resource a client's tokens are for: the API for our own clients, the MCP server for the rest. */
  resourceFor(clientId: string | undefined): string;
  /** A resource's token settings (audience, lifetime, format), signed by the key ring's current signer. */
  info(resource: string): ResourceServer;
  /** A service token's settings (RFC 6749 §4.4): `aud` is the one service it is for. */
  serviceInfo(audience: string): ResourceServer;
}

export function resourceServers(config: ResourceConfig, keyRing: KeyRing): ResourceServers {
  // A key is published before it signs: the ring's current signer, read at every issue.
  const signed = (server: Omit<ResourceServer, "jwt">): ResourceServer => {
    const signer = keyRing.signer();
    return { ...server, jwt: { sign: { alg: signer.alg, kid: signer.kid } } };
  };
  return {
    resourceFor: (clientId) => (isFirstParty(clientId) ? config.CHAT_URL : config.MCP_RESOURCE),
    info(resource) {
      // The product's API is chat's RFC 9728 resource (CHAT_URL); its tokens carry the API audience
      // every service behind chat accepts. The MCP server's tokens are for its resource URI.
      if (resource === config.CHAT_URL) {
        return signed({
          audience: config.API_AUDIENCE,
          scope: SCOPES.join(" "),
          accessTokenFormat: "jwt",
          accessTokenTTL: config.ACCESS_TOKEN_TTL,
        });
      }
      if (resource === config.MCP_RESOURCE) {
        return signed({
          audience: config.MCP_RESOURCE,
          scope: SCOPES.join(" "),
          accessTokenFormat: "jwt",
          accessTokenTTL: config.MCP_TOKEN_TTL,
        });
      }
      throw new Error(`no resource server ${resource}`);
    },
    serviceInfo: (audience) => signed({ audience, scope: "", accessTokenFormat: "jwt" }),
  };
}
