import { randomBytes } from "node:crypto";
import { dirtyStringIn, STRICT } from "../../../kit/input/clean-text.js";
import type { Logger } from "../../../kit/log/logger.js";
import type { HttpRequest, HttpResponse, HttpRouteHandler } from "../../../kit/server/service-server.js";
import { clientAddressFrom } from "../../throttle/client-address.js";
import type { SlidingWindow } from "../../throttle/sliding-window.js";
import { headerOf, methodNotAllowed, readBody, sendPublicJson } from "../http-io.js";
import { RegistrationError } from "../oauth-errors.js";
import { hashOpaque, newOpaque } from "../opaque-secret.js";
import { parseClientMetadata } from "./client-metadata.js";
import type { ClientStore } from "./client-store.js";
import type { OAuthClient } from "./oauth-client.js";

export const REGISTRATION_PATH = "/oauth2/register";

export interface RegistrationLimits {
  /**
   * Registrations per client address in the window (the window is the sliding window's). The
   * address is the socket peer unless TRUSTED_PROXY_HOPS names proxies in front
   * (throttle/client-address.ts): a client-written X-Forwarded-For is never a key.
   */
  readonly perAddress: SlidingWindow;
  /**
   * Stored clients at most. At the cap, a registration first evicts the oldest client that was
   * never used (no authorization, no token), whatever its age; clients in use are never evicted,
   * so whoever fills the table only pushes out unused registrations — its own, once it holds
   * the oldest. With no unused client left, registration answers 503.
   */
  readonly maxClients: number;
}

const MAX_BODY = 16 * 1024;
const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" };

/**
 * `POST /oauth2/register`: RFC 7591 dynamic client registration, open (no initial access token),
 * because MCP clients register themselves the first time they meet a server. Bounded so it can't
 * be used to fill the database: per address, in total, and redirect URIs validated
 * (redirect-uris.ts). The RFC's default method is client_secret_basic; public clients ask for
 * `none` (what MCP clients do).
 */
export function createRegistrationEndpoint(options: {
  store: ClientStore;
  limits: RegistrationLimits;
  trustedProxyHops: number;
  logger: Logger;
}): HttpRouteHandler {
  const { store, limits, logger } = options;
  return async (req: HttpRequest, res: HttpResponse) => {
    if (req.method !== "POST") return methodNotAllowed(res, "POST");
    const address = clientAddressFrom(
      headerOf(req, "x-forwarded-for"),
      options.trustedProxyHops,
      req.socket.remoteAddress,
    );
    try {
      const type = (headerOf(req, "content-type") ?? "").split(";")[0]?.trim().toLowerCase();
      if (type !== "application/json") throw invalidMetadata("the request body must be application/json");
      const body = await readBody(req, MAX_BODY);
      if (body === undefined)
        throw new RegistrationError(413, "invalid_client_metadata", "the request body is too large");
      let raw: unknown;
      try {
        raw = JSON.parse(body);
      } catch {
        throw invalidMetadata("the request body is not JSON");
      }
      // The same rule as every parameter (kit/input/clean-text.ts, strict), before anything reaches the store.
      const dirty = dirtyStringIn(raw, STRICT);
      if (dirty) throw new RegistrationError(400, "invalid_request", `client metadata: ${dirty}`);
      const metadata = parseClientMetadata(raw, ["client_secret_basic", "client_secret_post", "none"]);

      const key = address ?? "?";
      const now = Date.now();
      const wait = limits.perAddress.blockedFor(key, now);
      if (wait > 0) {
        const retry = String(Math.ceil(wait / 1000));
        throw new RegistrationError(
          429,
          "temporarily_unavailable",
          "too many client registrations from this address",
          { "retry-after": retry },
        );
      }
      const stored = await store.count();
      if (stored >= limits.maxClients) {
        const evicted = await store.evictUnused(stored - limits.maxClients + 1);
        if (evicted > 0)
          logger.info({ clients: evicted }, "never-used oauth clients evicted for a registration");
        if (stored - evicted >= limits.maxClients) {
          throw new RegistrationError(503, "temporarily_unavailable", "the client registry is full", {
            "retry-after": "3600",
          });
        }
      }
      limits.perAddress.record(key, now);

      const secret = metadata.tokenEndpointAuthMethod === "none" ? undefined : newOpaque("clientSecret");
      const client: OAuthClient = {
        clientId: `mcp_${randomBytes(16).toString("base64url")}`,
        kind: "registered",
        clientName: metadata.clientName,
        redirectUris: metadata.redirectUris,
        tokenEndpointAuthMethod: metadata.tokenEndpointAuthMethod,
        ...(secret ? { clientSecretHash: hashOpaque(secret) } : {}),
      };
      await store.insert(client, address);
      logger.info(
        { client_id: client.clientId, auth_method: client.tokenEndpointAuthMethod, client_address: address },
        "oauth client registered",
      );
      sendPublicJson(
        res,
        201,
        {
          client_id: client.clientId,
          client_id_issued_at: Math.floor(now / 1000),
          ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
          redirect_uris: client.redirectUris,
          token_endpoint_auth_method: client.tokenEndpointAuthMethod,
          grant_types: ["authorization_code", "refresh_token"],
          response_types: ["code"],
          ...(client.clientName ? { client_name: client.clientName } : {}),
        },
        NO_STORE,
      );
    } catch (err) {
      if (!(err instanceof RegistrationError)) throw err;
      logger.warn(
        { error: err.error, error_description: err.description, client_address: address },
        `client registration refused: ${err.error}`,
      );
      sendPublicJson(
        res,
        err.status,
        { error: err.error, error_description: err.description },
        { ...NO_STORE, ...err.headers },
      );
    }
  };
}

const invalidMetadata = (description: string) =>
  new RegistrationError(400, "invalid_client_metadata", description);
