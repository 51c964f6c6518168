import type { ClientStore } from "./client-store.js";
import type { MetadataDocumentClients } from "./metadata-document.js";
import type { OAuthClient } from "./oauth-client.js";

/** Finds a client by id: a URL is a Client ID Metadata Document, anything else a registered client. */
export type ResolveClient = (clientId: string) => Promise<OAuthClient | undefined>;

export function createClientResolver(store: ClientStore, documents: MetadataDocumentClients): ResolveClient {
  return async (clientId) => {
    if (clientId.length === 0 || clientId.length > 2_000) return undefined;
    return (await documents(clientId)) ?? (await store.find(clientId));
  };
}
