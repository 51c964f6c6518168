/**
 * Refusals of the authorization endpoint (RFC 6749 §4.1.2.1) and of registration (RFC 7591 §3.2.2).
 * Token endpoint refusals use http/oauth-response.ts.
 */
export type AuthorizeErrorCode =
  | "invalid_request"
  | "unauthorized_client"
  | "access_denied"
  | "unsupported_response_type"
  | "invalid_scope"
  | "server_error"
  | "temporarily_unavailable"
  | "invalid_target";

/** Where an authorization error is sent: the client's validated redirect URI and its state. */
export interface RedirectTarget {
  readonly redirectUri: string;
  readonly state: string | undefined;
}

export class AuthorizeError extends Error {
  override readonly name = "AuthorizeError";
  constructor(
    readonly error: AuthorizeErrorCode,
    readonly description: string,
    readonly target: RedirectTarget,
  ) {
    super(`${error}: ${description}`);
  }
}

/**
 * A request whose client or redirect URI can't be trusted: the user gets a plain error page and
 * nothing is sent anywhere (RFC 6749 §4.1.2.1: "MUST NOT automatically redirect").
 */
export class UntrustedRedirectError extends Error {
  override readonly name = "UntrustedRedirectError";
  constructor(readonly description: string) {
    super(description);
  }
}

/** RFC 7591 §3.2.2's codes, and RFC 6749 §5.2's invalid_request for a body that can't be read as text. */
export type RegistrationErrorCode =
  | "invalid_request"
  | "invalid_redirect_uri"
  | "invalid_client_metadata"
  | "temporarily_unavailable";

export class RegistrationError extends Error {
  override readonly name = "RegistrationError";
  constructor(
    readonly status: number,
    readonly error: RegistrationErrorCode,
    readonly description: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`${error}: ${description}`);
  }
}
