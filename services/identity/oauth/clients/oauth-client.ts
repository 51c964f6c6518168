/** How a client proves itself at the token endpoint (RFC 7591 §2). */
export type TokenEndpointAuthMethod = "none" | "client_secret_basic" | "client_secret_post";

/** An MCP client as the authorization server knows it, however it was registered. */
export interface OAuthClient {
  readonly clientId: string;
  /** `registered`: RFC 7591 (stored); `metadata_document`: a Client ID Metadata Document (fetched). */
  readonly kind: "registered" | "metadata_document";
  /** Self-asserted, unverified: shown on the consent page only as the client's claim. */
  readonly clientName: string | undefined;
  readonly redirectUris: readonly string[];
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  /** SHA-256 of the secret, for confidential registered clients. */
  readonly clientSecretHash?: string;
}
