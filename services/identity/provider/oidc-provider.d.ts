/**
 * oidc-provider ships JavaScript only (its package.json has no "types") and `@types/oidc-provider`
 * is not a dependency: this declares the part of its API the identity provider uses, nothing more.
 * Widen it when a new part is used, rather than casting at the call site.
 */
declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  /** What the provider stores per model instance; it adds fields across releases, so keep it open. */
  export interface AdapterPayload {
    [key: string]: unknown;
    jti?: string;
    kind?: string;
    /** Epoch seconds. */
    exp?: number;
    iat?: number;
    grantId?: string;
    userCode?: string;
    uid?: string;
    /** Set by `Adapter.consume`; truthy once consumed (the provider then refuses the token). */
    consumed?: unknown;
  }

  /** The storage contract every model (AccessToken, Grant, Session, Client, …) goes through. */
  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  /** `configuration.adapter`: the provider calls `new Adapter(modelName)` once per model. */
  export type AdapterConstructor = new (name: string) => Adapter;

  export interface ResourceServer {
    audience?: string;
    scope: string;
    accessTokenFormat?: "opaque" | "jwt";
    accessTokenTTL?: number;
    jwt?: { sign?: { alg: string } };
  }

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    grant_types?: string[];
    response_types?: string[];
    redirect_uris?: string[];
    id_token_signed_response_alg?: string;
    [key: string]: unknown;
  }

  /** Whether `client` may introspect or revoke `token`. */
  export type TokenPolicy = (
    ctx: unknown,
    client: Client,
    token: { readonly clientId?: string },
  ) => boolean | Promise<boolean>;

  export interface Configuration {
    adapter?: AdapterConstructor;
    clients?: ClientMetadata[];
    jwks?: { keys: object[] };
    scopes?: string[];
    features?: {
      clientCredentials?: { enabled: boolean };
      devInteractions?: { enabled: boolean };
      introspection?: { enabled: boolean; allowedPolicy?: TokenPolicy };
      revocation?: { enabled: boolean; allowedPolicy?: TokenPolicy };
      resourceIndicators?: {
        enabled: boolean;
        defaultResource?: (
          ctx: unknown,
          client: unknown,
          oneOf?: string[],
        ) => Promise<string | string[] | undefined> | string | string[] | undefined;
        getResourceServerInfo?: (
          ctx: unknown,
          resourceIndicator: string,
          client: unknown,
        ) => Promise<ResourceServer> | ResourceServer;
        useGrantedResource?: (ctx: unknown, model: unknown) => Promise<boolean> | boolean;
      };
      [feature: string]: unknown;
    };
    [key: string]: unknown;
  }

  export class Grant {
    constructor(properties: { accountId: string; clientId: string });
    readonly jti: string;
    accountId: string;
    clientId: string;
    addResourceScope(resource: string, scope: string): void;
    getResourceScope(resource: string): string;
    /** Stores the grant; resolves to its id. */
    save(ttl?: number): Promise<string>;
    static find(id: string): Promise<Grant | undefined>;
  }

  export interface Client {
    readonly clientId: string;
  }

  /** What the provider's grant-bound token models take when issued from a grant. */
  export interface GrantBoundTokenProperties {
    accountId: string;
    client: Client;
    grantId: string;
    gty: string;
    scope?: string;
    resource?: string;
  }

  export class AccessToken {
    constructor(properties: GrantBoundTokenProperties);
    /** Stores the token (opaque format); resolves to its value, which is also its id. */
    save(): Promise<string>;
  }

  export class RefreshToken {
    constructor(properties: GrantBoundTokenProperties);
    save(): Promise<string>;
  }

  export class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    readonly Grant: typeof Grant;
    readonly AccessToken: typeof AccessToken;
    readonly RefreshToken: typeof RefreshToken;
    readonly Client: { find(id: string): Promise<Client | undefined> };
    /** A Node request listener (the provider is a Koa application). */
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }

  /** Errors the provider answers with their own status and `error` code (RFC 6749 §5.2). */
  export namespace errors {
    class OIDCProviderError extends Error {
      readonly error: string;
      readonly status: number;
      error_description?: string;
      error_detail?: string;
    }
    class InvalidGrant extends OIDCProviderError {
      constructor(detail?: string);
    }
    class InvalidRequest extends OIDCProviderError {
      constructor(description?: string);
    }
    class InvalidTarget extends OIDCProviderError {
      constructor(description?: string);
    }
    class InvalidRequestUri extends OIDCProviderError {
      constructor(description?: string);
    }
  }

  export default Provider;
}
