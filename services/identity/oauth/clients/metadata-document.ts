import { dirtyStringIn, STRICT } from "../../../kit/input/clean-text.js";
import type { Logger } from "../../../kit/log/logger.js";
import { RegistrationError } from "../oauth-errors.js";
import { parseClientMetadata } from "./client-metadata.js";
import { documentAddresses, type ResolveHost, systemResolver } from "./document-addresses.js";
import { DocumentProblem } from "./document-problem.js";
import { documentUrl } from "./document-url.js";
import { createFetchGate } from "./fetch-gate.js";
import type { OAuthClient } from "./oauth-client.js";
import { fetchPinned } from "./pinned-fetch.js";

export interface MetadataDocumentOptions {
  /**
   * CLIENT_METADATA_ALLOW_LOOPBACK (development and tests only, refused in production): documents
   * at `http://127.0.0.1:<port>/…` and on loopback addresses are fetched too.
   */
  readonly allowLoopback: boolean;
  readonly logger: Logger;
  /** The whole fetch — resolution, connection, headers and body — at most (5 s). */
  readonly timeoutMs?: number;
  /** The document at most (5 KiB). */
  readonly maxBytes?: number;
  readonly cacheTtlMs?: number;
  /** Fetches in flight at most, in all (one per client id in any case). */
  readonly maxInFlight?: number;
  /** Replaces the system resolver (tests). */
  readonly resolveHost?: ResolveHost;
}

/** Fetches and validates Client ID Metadata Documents; undefined for a client id that isn't a URL. */
export type MetadataDocumentClients = (clientId: string) => Promise<OAuthClient | undefined>;

/** The one answer to a document that was fetched, or tried, and can't be used, whatever the reason. */
export const DOCUMENT_UNUSABLE = "client metadata document could not be used";

const MAX_CACHED = 500;

/**
 * Client ID Metadata Documents (docs/identity.md, "Client ID Metadata Documents"): the client id
 * is an https URL with a path; the document there names the same client id and its redirect URIs.
 * Anyone can make this server fetch a URL of their choosing, so the fetch goes only to public
 * addresses, resolved once and pinned (document-addresses.ts, pinned-fetch.ts), is bounded in
 * time, size and concurrency (fetch-gate.ts), and its outcome is never shown: every failure after
 * the URL's own rules is the same refusal, the reason only logged. Good documents are cached
 * for a few minutes; public clients only (no secret can be published in a document).
 */
export function createMetadataDocumentClients(options: MetadataDocumentOptions): MetadataDocumentClients {
  const { logger, allowLoopback } = options;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const maxBytes = options.maxBytes ?? 5 * 1024;
  const ttlMs = options.cacheTtlMs ?? 300_000;
  const resolve = options.resolveHost ?? systemResolver;
  const gate = createFetchGate(options.maxInFlight ?? 16);
  const cache = new Map<string, { client: OAuthClient; until: number }>();

  return async (clientId) => {
    if (!clientId.startsWith("https://") && !clientId.startsWith("http://")) return undefined;
    const url = documentUrl(clientId, allowLoopback);
    const hit = cache.get(clientId);
    if (hit && hit.until > Date.now()) return hit.client;

    const release = gate.enter(clientId);
    if (!release) {
      logger.warn(
        { client_id: clientId },
        "client metadata document not fetched: too many fetches in flight",
      );
      throw new RegistrationError(
        503,
        "temporarily_unavailable",
        "too many client metadata documents are being fetched; try again shortly",
        {
          "retry-after": "1",
        },
      );
    }
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    try {
      const addresses = await beforeDeadline(documentAddresses(url, allowLoopback, resolve), deadline.signal);
      const body = await fetchPinned(url, addresses, { maxBytes, signal: deadline.signal });
      const client = clientFromDocument(body, clientId);
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
      cache.set(clientId, { client, until: Date.now() + ttlMs });
      return client;
    } catch (err) {
      // Whatever went wrong, the requester learns nothing about what answered; the log does.
      const reason =
        err instanceof DocumentProblem
          ? err.message
          : `unexpected: ${err instanceof Error ? err.message : String(err)}`;
      logger.warn({ client_id: clientId, reason }, "client metadata document refused");
      throw new RegistrationError(400, "invalid_client_metadata", DOCUMENT_UNUSABLE);
    } finally {
      clearTimeout(timer);
      release();
    }
  };
}

/** A fetched document as a client, or a DocumentProblem saying why not. */
function clientFromDocument(body: Buffer, clientId: string): OAuthClient {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw new DocumentProblem("the document is not UTF-8 JSON");
  }
  const dirty = dirtyStringIn(doc, STRICT);
  if (dirty) throw new DocumentProblem(`the document: ${dirty}`);
  const record = (typeof doc === "object" && doc !== null ? doc : {}) as Record<string, unknown>;
  if (record.client_id !== clientId) throw new DocumentProblem("the document's client_id is not its own URL");
  if (record.client_secret !== undefined) throw new DocumentProblem("the document carries a client_secret");
  let metadata: ReturnType<typeof parseClientMetadata>;
  try {
    metadata = parseClientMetadata(doc, ["none"]);
  } catch (err) {
    throw new DocumentProblem(err instanceof RegistrationError ? err.description : "invalid metadata");
  }
  return {
    clientId,
    kind: "metadata_document",
    clientName: metadata.clientName,
    redirectUris: metadata.redirectUris,
    tokenEndpointAuthMethod: "none",
  };
}

/** `work`, or a DocumentProblem once `signal` fires (a resolution can't itself be cancelled). */
function beforeDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new DocumentProblem("no complete answer before the deadline"));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
