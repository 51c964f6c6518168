/**
 * oidc-provider ships JavaScript only (its package.json has no "types") and `@types/oidc-provider`
 * is not a dependency: this declares the part of its API the identity provider uses, nothing more.
 * Widen it when a new part is used, rather than casting at the call site.
 */
declare module "oidc-provider" {
  import type { IncomingMessage as Http1Request, ServerResponse as Http1Response } from "node:http";
  import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

  /** Node's request and response, HTTP/1.1 or the HTTP/2 compatibility API (Koa takes both). */
  type IncomingMessage = Http1Request | Http2ServerRequest;
  type ServerResponse = Http1Response | Http2ServerResponse;

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
    jwt?: { sign?: { alg: string; kid?: string } };
  }

  /** The resolved resource server a token is issued for (`provider.ResourceServer`). */
  export class ResourceServerInstance {
    constructor(identifier: string, info: ResourceServer);
    readonly audience?: string;
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
    /** Epoch seconds when the grant (and so every token issued from it) ends. */
    readonly exp?: number;
    accountId: string;
    clientId: string;
    addResourceScope(resource: string, scope: string): void;
    /** Records scopes asked for and declined, so the consent prompt does not ask for them again. */
    rejectResourceScope(resource: string, scope: string): void;
    addOIDCScope(scope: string): void;
    rejectOIDCScope(scope: string): void;
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
    /** Seconds; replaces the configured `ttl` for this token. */
    expiresIn?: number;
    /** A JWT access token's resource server: its `aud`, format, signing key. */
    resourceServer?: ResourceServerInstance;
    /** RFC 9396 authorization details: a JWT access token's `authorization_details`. */
    rar?: readonly object[];
    /** Epoch seconds; when both are given the token's lifetime is exactly `exp − iat`. */
    iat?: number;
    exp?: number;
  }

  export class AccessToken {
    constructor(properties: GrantBoundTokenProperties);
    readonly jti: string;
    /** Stores the token (opaque format; a JWT is not stored); resolves to its value. */
    save(): Promise<string>;
  }

  export class RefreshToken {
    constructor(properties: GrantBoundTokenProperties);
    readonly jti: string;
    readonly accountId: string;
    readonly clientId: string;
    readonly grantId: string;
    /** Epoch seconds once spent (set by `Adapter.consume`). */
    readonly consumed?: number;
    readonly isExpired: boolean;
    save(): Promise<string>;
    static find(value: string, options?: { ignoreExpiration?: boolean }): Promise<RefreshToken | undefined>;
  }

  /** A client's own token (RFC 6749 §4.4): no account, no grant; `sub` is the client. */
  export class ClientCredentials {
    constructor(properties: {
      client: Client;
      expiresIn?: number;
      resourceServer?: ResourceServerInstance;
      scope?: string;
      iat?: number;
      exp?: number;
    });
    readonly jti: string;
    save(): Promise<string>;
  }

  /** The interaction a sign-in page is serving (`interactionDetails`). */
  export interface Interaction {
    readonly uid: string;
    readonly params: Record<string, unknown>;
    readonly prompt: { readonly name: string; readonly reasons: string[] };
  }

  /** What an interaction ends with: a login and consent, or an error for the client. */
  export type InteractionResult =
    | { login?: { accountId: string; remember?: boolean }; consent?: { grantId: string } }
    | { error: string; error_description?: string };

  /** Koa middleware of the provider's application (`provider.use`). */
  // biome-ignore lint/suspicious/noExplicitAny: Koa's context is the library's, untyped here
  export type Middleware = (ctx: any, next: () => Promise<void>) => Promise<void>;

  export class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    /** Believe X-Forwarded-* (Koa's `proxy`): only behind proxies we run. */
    proxy: boolean;
    use(middleware: Middleware): void;
    // biome-ignore lint/suspicious/noExplicitAny: event arguments differ per event (docs/events.md)
    on(event: string, listener: (...args: any[]) => void): this;
    /** Adds a grant type to the token endpoint (RFC 6749 §4.5 extension grants). */
    registerGrantType(
      name: string,
      // biome-ignore lint/suspicious/noExplicitAny: the handler gets the provider's Koa context
      handler: (ctx: any) => Promise<void>,
      parameters?: string[] | Set<string>,
      allowedDuplicateParameters?: string[] | Set<string>,
    ): void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResult,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    readonly Grant: typeof Grant;
    readonly AccessToken: typeof AccessToken;
    readonly RefreshToken: typeof RefreshToken;
    readonly ClientCredentials: typeof ClientCredentials;
    readonly ResourceServer: typeof ResourceServerInstance;
    readonly Client: { find(id: string): Promise<Client | undefined> };
    /** A Node request listener (the provider is a Koa application). */
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }

  /** Errors the provider answers with their own status and `error` code (RFC 6749 §5.2). */
  /** The provider's prompt policy (`interactions.policy`). */
  export namespace interactionPolicy {
    class Check {
      static readonly REQUEST_PROMPT: true;
      static readonly NO_NEED_TO_PROMPT: false;
      // biome-ignore lint/suspicious/noExplicitAny: the check gets the provider's Koa context
      constructor(reason: string, description: string, check: (ctx: any) => boolean);
    }
    interface Prompt {
      readonly name: string;
      readonly checks: Check[] & { add(check: Check, index?: number): void; remove(reason: string): void };
    }
    type Policy = Prompt[] & { get(name: string): Prompt | undefined };
    function base(): Policy;
  }

  export namespace errors {
    class OIDCProviderError extends Error {
      constructor(status: number, error: string);
      readonly error: string;
      readonly status: number;
      error_description?: string;
      error_detail?: string;
    }
    class InvalidScope extends OIDCProviderError {
      constructor(description?: string, scope?: string);
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
