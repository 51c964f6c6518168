import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { ChatService } from "#gen/supportext/chat/v1/chat_pb.js";
import { memoryStore, persistentStore } from "./browser-stores.js";
import { discoverAuthorizationServer, EXTENSION_CLIENT_ID } from "./oauth.js";
import { SessionEndedError } from "./refusals.js";
import { Session } from "./session.js";

/** Everything the popup calls: the chat service, and the identity provider that issues its tokens. */
export interface Api {
  /** The chat server the user chose (the key of the stored session). */
  readonly serverUrl: string;
  /** The identity provider, as chat's RFC 9728 metadata names it. */
  readonly identityUrl: string;
  readonly session: Session;
  readonly chat: Client<typeof ChatService>;
}

/** The development page's redirect URI, beside the popup. */
const DEV_CALLBACK = "oauth-callback.html";

type ChromeIdentity = NonNullable<NonNullable<typeof chrome>["identity"]>;

/** The extension's sign-in window (chrome.identity): resolves with the redirect it was sent to. */
async function launchWebAuthFlow(identity: ChromeIdentity, url: string): Promise<string> {
  const back = await identity.launchWebAuthFlow({ url, interactive: true }).catch((err: unknown) => {
    // The window was closed, or the identity service's page could not be loaded.
    throw new SessionEndedError(
      `Sign-in did not finish: ${err instanceof Error ? err.message : String(err)}`,
    );
  });
  if (!back) throw new SessionEndedError("Sign-in did not finish.");
  return back;
}

/**
 * The development page's sign-in window, opened by the click that asked for it (openSignInWindow:
 * a window opened later, after network calls, is blocked as an unasked pop-up), sent to the
 * authorization URL and watched until it comes back to this origin's callback (then readable:
 * same origin) or is closed.
 */
export function openSignInWindow(): Window | null {
  return globalThis.chrome?.identity
    ? null
    : window.open("about:blank", "support-ext-sign-in", "popup,width=480,height=640");
}

function watchSignInWindow(win: Window | null | undefined, url: string): Promise<string> {
  if (!win) return Promise.reject(new SessionEndedError("The sign-in window was blocked: allow pop-ups."));
  win.location.href = url;
  const callback = new URL(DEV_CALLBACK, location.href).href;
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (win.closed) {
        clearInterval(timer);
        reject(new SessionEndedError("Sign-in did not finish: the window was closed."));
        return;
      }
      let here = "";
      try {
        here = win.location.href; // readable only once back on this origin
      } catch {
        return;
      }
      if (!here.startsWith(callback)) return;
      clearInterval(timer);
      win.close();
      resolve(here);
    }, 200);
  });
}

/** Where chat publishes which authorization server issues its tokens (RFC 9728). */
export const PROTECTED_RESOURCE_PATH = "/.well-known/oauth-protected-resource";

/**
 * Connect JSON over fetch, as the browser speaks it (CORS: both services' CORS_ORIGINS must list
 * this origin). The identity provider is discovered from chat, so the user types one address; it is
 * signed in to through chrome.identity (authorization code + PKCE, docs/identity.md).
 */
export async function createApi(serverUrl: string, signInWindow?: Window | null): Promise<Api> {
  const { issuer: identityUrl, resource } = await discoverIdentityProvider(serverUrl);
  const auth = createClient(AuthService, createConnectTransport({ baseUrl: identityUrl }));
  const identity = globalThis.chrome?.identity;
  const session = new Session({
    auth,
    oauth: {
      server: await discoverAuthorizationServer(identityUrl),
      clientId: EXTENSION_CLIENT_ID,
      // The extension: chrome.identity's https://<id>.chromiumapp.org/. The popup served as a
      // development page: a callback on its own origin (EXTENSION_REDIRECT_URIS must list it).
      redirectUri: identity?.getRedirectURL() ?? new URL(DEV_CALLBACK, location.href).href,
      resource,
    },
    authorize: (url) => (identity ? launchWebAuthFlow(identity, url) : watchSignInWindow(signInWindow, url)),
    serverUrl,
    persistent: persistentStore(),
    memory: memoryStore(),
  });
  return {
    serverUrl,
    identityUrl,
    session,
    chat: createClient(ChatService, createConnectTransport({ baseUrl: serverUrl })),
  };
}

/**
 * Chat's RFC 9728 metadata: its first authorization server, and the resource its tokens are for;
 * a network failure propagates as such.
 */
export async function discoverIdentityProvider(
  serverUrl: string,
): Promise<{ issuer: string; resource: string }> {
  const res = await fetch(new URL(PROTECTED_RESOURCE_PATH, serverUrl), { cache: "no-store" });
  const doc = res.ok
    ? ((await res.json().catch(() => undefined)) as
        | { authorization_servers?: unknown; resource?: unknown }
        | undefined)
    : undefined;
  const issuer = Array.isArray(doc?.authorization_servers) ? doc.authorization_servers[0] : undefined;
  if (typeof issuer !== "string" || !/^https?:\/\//.test(issuer)) {
    throw new Error(
      `${serverUrl} does not look like a support-ext chat server (no identity provider in ${PROTECTED_RESOURCE_PATH}).`,
    );
  }
  const resource = typeof doc?.resource === "string" ? doc.resource : serverUrl;
  return { issuer: issuer.replace(/\/+$/, ""), resource };
}

/** `http://host:port` without a trailing slash; throws on anything that is not an http(s) URL. */
export function normalizeServerUrl(input: string): string {
  const url = new URL(input.trim());
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new Error(`not an http(s) address: ${input}`);
  return url.origin;
}
