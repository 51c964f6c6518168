import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import type { KeyValueStore } from "./key-value-store.js";
import {
  type OAuthClient,
  OAuthRefusal,
  pkcePair,
  randomState,
  requestTokens,
  revokeRefreshToken,
  type Tokens,
} from "./oauth.js";
import { asksForRefresh, SessionEndedError } from "./refusals.js";

/** Refresh this long before the access token expires, so no call carries one that lapses on the way. */
export const REFRESH_MARGIN_MS = 60_000;
const SESSION_KEY = "session";
const ACCESS_KEY = "access";
// Serializes refreshes across every popup and tab of the extension (Web Locks).
const REFRESH_LOCK = "support-ext-refresh";

export interface SignedInUser {
  readonly email: string;
  readonly name: string;
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
  readonly sessionId: string;
}

interface StoredSession {
  readonly serverUrl: string;
  readonly refreshToken: string;
  readonly user: SignedInUser;
}

interface AccessToken {
  readonly token: string;
  readonly expiresAtMs: number;
}

export interface SessionOptions {
  /** The identity service's AuthService: who the signed-in user is (WhoAmI). */
  readonly auth: Client<typeof AuthService>;
  /** The extension as an OAuth client of the identity service. */
  readonly oauth: OAuthClient;
  /**
   * Opens the authorization URL where the person signs in and resolves with the URL the browser was
   * sent back to: chrome.identity.launchWebAuthFlow in the extension.
   */
  readonly authorize: (authorizationUrl: string) => Promise<string>;
  readonly serverUrl: string;
  /** The refresh token (and who is logged in) across browser restarts. */
  readonly persistent: KeyValueStore;
  /** The access token, shared by the extension's pages while the browser runs. */
  readonly memory: KeyValueStore;
  readonly now?: () => number;
}

/** Headers of one call (the bearer token); a plain record so this file needs no DOM types. */
export type CallHeaders = Record<string, string>;

/** The Web Locks API, where the page has it (extension pages and secure pages do). */
interface Locks {
  request<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/**
 * A login session seen from the popup: signs in with the authorization code flow and PKCE (the
 * identity service's own page, in a window the browser opens — no password reaches the popup),
 * keeps the refresh token in extension storage, hands out an access token that is refreshed before
 * it expires, and runs calls with one retry after an `unauthenticated` that asks for a refresh
 * (docs/identity.md, "The extension's sign-in").
 */
export class Session {
  private access: AccessToken | undefined;
  private refreshing: Promise<AccessToken> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: SessionOptions) {
    this.now = options.now ?? Date.now;
  }

  get serverUrl(): string {
    return this.options.serverUrl;
  }

  /** The stored session of `serverUrl`'s user, if one was kept. */
  static async stored(persistent: KeyValueStore): Promise<StoredSession | undefined> {
    return persistent.get<StoredSession>(SESSION_KEY);
  }

  /** Signs in: the identity service's page, then the code redeemed with its PKCE verifier. */
  async signIn(): Promise<SignedInUser> {
    await this.forget();
    const { oauth } = this.options;
    const { verifier, challenge } = await pkcePair();
    const state = randomState();
    const url = new URL(oauth.server.authorizationEndpoint);
    for (const [name, value] of Object.entries({
      response_type: "code",
      client_id: oauth.clientId,
      redirect_uri: oauth.redirectUri,
      code_challenge: challenge,
      code_challenge_method: "S256",
      state,
      resource: oauth.resource,
    }))
      url.searchParams.set(name, value);
    const back = new URL(await this.options.authorize(url.href));
    const answer = back.search !== "" ? back.searchParams : new URLSearchParams(back.hash.slice(1));
    // RFC 9207 and the state: the answer is this request's, from this issuer.
    if (answer.get("state") !== state || answer.get("iss") !== oauth.server.issuer) {
      throw new SessionEndedError("The sign-in answer was not for this request. Sign in again.");
    }
    const error = answer.get("error");
    if (error) {
      throw new SessionEndedError(
        error === "access_denied"
          ? "Sign-in was cancelled."
          : `Sign-in failed: ${answer.get("error_description") ?? error}`,
      );
    }
    const tokens = await requestTokens(oauth, {
      grant_type: "authorization_code",
      code: answer.get("code") ?? "",
      redirect_uri: oauth.redirectUri,
      code_verifier: verifier,
    });
    const me = await this.options.auth.whoAmI({}, { headers: bearer(tokens.accessToken) });
    if (!me.user) throw new ConnectError("the server answered without a user", Code.Internal);
    return this.adopt(tokens, {
      email: me.user.email,
      name: me.user.name,
      roles: [...me.user.roles],
      scopes: [...me.user.scopes],
      sessionId: me.sessionId,
    });
  }

  /** Ends the session at the server (its refresh token revoked) and here. */
  async logout(): Promise<void> {
    const stored = await Session.stored(this.options.persistent);
    await this.forget();
    if (stored) await revokeRefreshToken(this.options.oauth, stored.refreshToken).catch(() => undefined);
  }

  /** A usable access token: the current one while it is far from expiry, else a refreshed one. */
  async accessToken(): Promise<string> {
    const access = this.access ?? (await this.options.memory.get<AccessToken>(ACCESS_KEY));
    if (access && this.fresh(access)) {
      this.access = access;
      return access.token;
    }
    return (await this.refresh(access?.token)).token;
  }

  /**
   * One refresh for every caller asking at once, here and in the extension's other pages: a
   * refresh token is single-use, and presenting a spent one revokes the whole session.
   */
  refresh(staleToken?: string): Promise<AccessToken> {
    this.refreshing ??= withLock(() => this.refreshOnce(staleToken)).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Runs `call` with the access token; after an `unauthenticated` asking for a refresh, refreshes and runs it once more. */
  async run<T>(call: (headers: CallHeaders) => Promise<T>): Promise<T> {
    const token = await this.accessToken();
    try {
      return await call(bearer(token));
    } catch (err) {
      const ce = ConnectError.from(err);
      if (!asksForRefresh(ce)) throw await this.ended(ce);
      const fresh = await this.refresh(token);
      try {
        return await call(bearer(fresh.token));
      } catch (again) {
        throw await this.ended(ConnectError.from(again));
      }
    }
  }

  /**
   * `run` for a server stream. A turn refused for an expired token — at the door, or mid-turn with
   * "refresh it and send again" (docs/chat.md; the partial answer is kept) — is opened once more
   * with a refreshed token, after `onRetry` says so.
   */
  async *stream<T>(
    open: (headers: CallHeaders) => AsyncIterable<T>,
    onRetry: (err: ConnectError) => void,
  ): AsyncGenerator<T> {
    const token = await this.accessToken();
    try {
      yield* open(bearer(token));
      return;
    } catch (err) {
      const ce = ConnectError.from(err);
      if (!asksForRefresh(ce)) throw await this.ended(ce);
      onRetry(ce);
    }
    const fresh = await this.refresh(token);
    try {
      yield* open(bearer(fresh.token));
    } catch (again) {
      throw await this.ended(ConnectError.from(again));
    }
  }

  /** A refusal that leaves no session behind becomes SessionEndedError (storage cleared); others pass. */
  async ended(err: ConnectError): Promise<Error> {
    if (err.code !== Code.Unauthenticated) return err;
    await this.forget();
    const revoked =
      /revoked/.test(err.rawMessage) || /revoked/.test(err.metadata.get("www-authenticate") ?? "");
    return new SessionEndedError(
      revoked
        ? "Your session was revoked (logged out elsewhere or by an administrator). Log in again."
        : `Your session has ended (${err.rawMessage}). Log in again.`,
    );
  }

  private fresh(access: AccessToken): boolean {
    return access.expiresAtMs - this.now() > REFRESH_MARGIN_MS;
  }

  private async refreshOnce(staleToken: string | undefined): Promise<AccessToken> {
    // Another page of the extension may have refreshed while this one waited for the lock.
    const shared = await this.options.memory.get<AccessToken>(ACCESS_KEY);
    if (shared && shared.token !== staleToken && this.fresh(shared)) {
      this.access = shared;
      return shared;
    }
    const stored = await Session.stored(this.options.persistent);
    if (!stored || stored.serverUrl !== this.options.serverUrl)
      throw new SessionEndedError("You are not logged in. Log in again.");
    let tokens: Tokens;
    try {
      tokens = await requestTokens(this.options.oauth, {
        grant_type: "refresh_token",
        refresh_token: stored.refreshToken,
      });
    } catch (err) {
      if (!(err instanceof OAuthRefusal) || err.status >= 500) throw err;
      // invalid_grant: the grant was revoked (logged out elsewhere, by an administrator, or a spent
      // refresh token presented again) or has run out.
      await this.forget();
      throw new SessionEndedError(
        `Your session has ended or was revoked (${err.description || err.error}). Log in again.`,
      );
    }
    await this.adopt(tokens, stored.user);
    return this.access as AccessToken;
  }

  private async adopt(tokens: Tokens, signedIn: SignedInUser): Promise<SignedInUser> {
    const expiresAtMs = expiryOf(tokens.accessToken) ?? this.now() + tokens.expiresInSec * 1000;
    this.access = { token: tokens.accessToken, expiresAtMs };
    const session: StoredSession = {
      serverUrl: this.options.serverUrl,
      refreshToken: tokens.refreshToken,
      user: signedIn,
    };
    await this.options.persistent.set(SESSION_KEY, session);
    await this.options.memory.set(ACCESS_KEY, this.access);
    return signedIn;
  }

  private async forget(): Promise<void> {
    this.access = undefined;
    await this.options.persistent.remove(SESSION_KEY);
    await this.options.memory.remove(ACCESS_KEY);
  }
}

/**
 * The access token's own `exp` (RFC 9068: a JWT), in ms: the server's clock, not the time the
 * answer arrived. Reading it verifies nothing — the token is only carried, never trusted, here.
 */
function expiryOf(token: string): number | undefined {
  try {
    const payload = token.split(".")[1] ?? "";
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function bearer(token: string): CallHeaders {
  return { authorization: `Bearer ${token}` };
}

function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = (globalThis as { navigator?: { locks?: Locks } }).navigator?.locks;
  return locks ? locks.request(REFRESH_LOCK, fn) : fn();
}
