import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AuthService } from "../../../gen/supportext/auth/v1/auth_pb.js";
import { ChatService } from "../../../gen/supportext/chat/v1/chat_pb.js";
import { memoryStore, persistentStore } from "./browser-stores.js";
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

/** Where chat publishes which authorization server issues its tokens (RFC 9728). */
export const PROTECTED_RESOURCE_PATH = "/.well-known/oauth-protected-resource";

/**
 * Connect JSON over fetch, as the browser speaks it (CORS: both services' CORS_ORIGINS must list
 * this origin). The identity provider is discovered from chat, so the user types one address.
 */
export async function createApi(serverUrl: string): Promise<Api> {
  const identityUrl = await discoverIdentityProvider(serverUrl);
  const auth = createClient(AuthService, createConnectTransport({ baseUrl: identityUrl }));
  const session = new Session({ auth, serverUrl, persistent: persistentStore(), memory: memoryStore() });
  return {
    serverUrl,
    identityUrl,
    session,
    chat: createClient(ChatService, createConnectTransport({ baseUrl: serverUrl })),
  };
}

/** The first authorization server of chat's metadata; a network failure propagates as such. */
export async function discoverIdentityProvider(serverUrl: string): Promise<string> {
  const res = await fetch(new URL(PROTECTED_RESOURCE_PATH, serverUrl), { cache: "no-store" });
  const doc = res.ok
    ? ((await res.json().catch(() => undefined)) as { authorization_servers?: unknown } | undefined)
    : undefined;
  const issuer = Array.isArray(doc?.authorization_servers) ? doc.authorization_servers[0] : undefined;
  if (typeof issuer !== "string" || !/^https?:\/\//.test(issuer)) {
    throw new Error(
      `${serverUrl} does not look like a support-ext chat server (no identity provider in ${PROTECTED_RESOURCE_PATH}).`,
    );
  }
  return issuer.replace(/\/+$/, "");
}

/** `http://host:port` without a trailing slash; throws on anything that is not an http(s) URL. */
export function normalizeServerUrl(input: string): string {
  const url = new URL(input.trim());
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new Error(`not an http(s) address: ${input}`);
  return url.origin;
}
