import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AuthService } from "../../../gen/supportext/auth/v1/auth_pb.js";
import { ChatService } from "../../../gen/supportext/chat/v1/chat_pb.js";
import { memoryStore, persistentStore } from "./browser-stores.js";
import { Session } from "./session.js";

/** Everything the popup calls on one chat server: the identity provider and the chat service. */
export interface Api {
  readonly serverUrl: string;
  readonly session: Session;
  readonly chat: Client<typeof ChatService>;
}

/** Connect JSON over fetch, as the browser speaks it (CORS: chat's CORS_ORIGINS must list this origin). */
export function createApi(serverUrl: string): Api {
  const transport = createConnectTransport({ baseUrl: serverUrl });
  const auth = createClient(AuthService, transport);
  const session = new Session({ auth, serverUrl, persistent: persistentStore(), memory: memoryStore() });
  return { serverUrl, session, chat: createClient(ChatService, transport) };
}

/** `http://host:port` without a trailing slash; throws on anything that is not an http(s) URL. */
export function normalizeServerUrl(input: string): string {
  const url = new URL(input.trim());
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new Error(`not an http(s) address: ${input}`);
  return url.origin;
}
