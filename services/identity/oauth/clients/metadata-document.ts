import { isIP } from "node:net";
import { RegistrationError } from "../oauth-errors.js";
import { parseClientMetadata } from "./client-metadata.js";
import type { OAuthClient } from "./oauth-client.js";

export interface MetadataDocumentOptions {
  /**
   * Accept `http://127.0.0.1:<port>/…` documents (tests and local development). Never in
   * production: there a client id is an https URL whose host is a name, not an address.
   */
  readonly allowLoopbackHttp: boolean;
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
  readonly cacheTtlMs?: number;
  readonly fetch?: typeof fetch;
}

/** Fetches and validates Client ID Metadata Documents; undefined for a client id that isn't a URL. */
export type MetadataDocumentClients = (clientId: string) => Promise<OAuthClient | undefined>;

const MAX_CACHED = 500;

/**
 * Client ID Metadata Documents (docs/identity.md, "Client registration"): the client id is an
 * https URL with a path; the document there names the same client id and its redirect URIs. The
 * fetch is bounded (time, size, no redirects) because any party can make this server fetch a URL
 * of its choosing. Documents are cached for a few minutes; public clients only (no secret can be
 * published in a document).
 */
export function createMetadataDocumentClients(options: MetadataDocumentOptions): MetadataDocumentClients {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const maxBytes = options.maxBytes ?? 5 * 1024;
  const ttlMs = options.cacheTtlMs ?? 300_000;
  const fetchImpl = options.fetch ?? fetch;
  const cache = new Map<string, { client: OAuthClient; until: number }>();

  return async (clientId) => {
    if (!looksLikeUrl(clientId)) return undefined;
    const url = documentUrl(clientId, options.allowLoopbackHttp);
    const hit = cache.get(clientId);
    if (hit && hit.until > Date.now()) return hit.client;

    let response: Response;
    try {
      response = await fetchImpl(url, {
        redirect: "manual",
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch {
      throw invalid("the client's metadata document could not be fetched");
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw invalid(`the client's metadata document answered HTTP ${response.status}`);
    }
    const text = await readBounded(response, maxBytes);
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw invalid("the client's metadata document is not JSON");
    }
    const record = (typeof doc === "object" && doc !== null ? doc : {}) as Record<string, unknown>;
    if (record.client_id !== clientId) throw invalid("the metadata document's client_id is not its own URL");
    if (record.client_secret !== undefined) throw invalid("a metadata document must not carry a client_secret");
    const metadata = parseClientMetadata(doc, ["none"]);
    const client: OAuthClient = {
      clientId,
      kind: "metadata_document",
      clientName: metadata.clientName,
      redirectUris: metadata.redirectUris,
      tokenEndpointAuthMethod: "none",
    };
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
    cache.set(clientId, { client, until: Date.now() + ttlMs });
    return client;
  };
}

function looksLikeUrl(clientId: string): boolean {
  return clientId.startsWith("https://") || clientId.startsWith("http://");
}

/** The draft's rules for the URL: https, a path, no fragment, credentials or dot segments. */
function documentUrl(clientId: string, allowLoopbackHttp: boolean): URL {
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    throw invalid("client_id is not a valid URL");
  }
  if (url.href !== clientId) throw invalid("client_id must be a URL in normal form");
  if (url.hash || url.username || url.password) throw invalid("client_id must not contain a fragment or credentials");
  if (url.pathname === "/" || /\/\.\.?(\/|$)/.test(clientId)) throw invalid("client_id must have a path without dot segments");
  const loopbackHttp = url.protocol === "http:" && url.hostname === "127.0.0.1";
  if (url.protocol !== "https:" && !(allowLoopbackHttp && loopbackHttp)) {
    throw invalid("client_id must be an https URL");
  }
  // Outside development an address literal is refused: documents live on named hosts, and this
  // keeps the fetch off internal addresses named directly (docs/identity.md, "Open points").
  if (!allowLoopbackHttp && isIP(url.hostname.replace(/^\[|\]$/g, "")) !== 0) {
    throw invalid("client_id must name a host, not an address");
  }
  return url;
}

async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw invalid(`the client's metadata document is larger than ${maxBytes} bytes`);
  }
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw invalid(`the client's metadata document is larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

const invalid = (description: string) => new RegistrationError(400, "invalid_client_metadata", description);
