import * as https from "node:https";
import type { Logger } from "#kit/log/index.js";
import { FETCHED_URIS } from "./endpoint-policy/registration-problem.js";
import { createFetchGate } from "./fetch-gate.js";
import { redirectUriProblem } from "./redirect-uri-policy.js";

export interface MetadataDocumentOptions {
  /**
   * CLIENT_METADATA_ALLOW_LOOPBACK (development and tests only, refused in production): documents
   * on loopback addresses are fetched too (still over https).
   */
  readonly allowLoopback: boolean;
  readonly logger: Logger;
  /** Fetches in flight at most, in all (the provider already fetches one per client id). */
  readonly maxInFlight?: number;
  /** Certificates a loopback document server may present (tests serve theirs with their own CA). */
  readonly loopbackCa?: string;
}

/**
 * How the authorization server fetches Client ID Metadata Documents (docs/identity.md, "Client ID
 * Metadata Documents"). oidc-provider checks the client id (https, a path, no credentials or
 * fragment), fetches it through a dispatcher that refuses special-use addresses (loopback,
 * private, link-local…), without redirects, within 2.5 s and 5 KiB, one fetch per client id, and
 * answers every failure with the same `invalid_client`. This adds the bound on fetches in flight
 * in all, and — under the development switch only — a fetch that may reach loopback.
 */
export function metadataDocumentFetching(options: MetadataDocumentOptions) {
  const gate = createFetchGate(options.maxInFlight ?? 16);
  return {
    /**
     * A document's client is held to the rules a registration is: no URL to fetch later
     * (registration-problem.ts), and the redirect URI rules (redirect-uri-policy.ts):
     * the library checks its https URI fields only, and would take plain http to any host. Refused,
     * the client is the library's `invalid_client`; the reason goes to the log for its developer.
     */
    allowClient: async (_ctx: unknown, client: unknown): Promise<boolean> => {
      const { clientId, redirectUris } = client as { clientId?: string; redirectUris?: unknown };
      // Nor does a document name a URL the server would fetch later (keys inline in `jwks` serve as
      // well): refused for documents as for registrations, so a client id cannot point the server's
      // connections elsewhere a second time.
      const metadata = (client as { metadata?: () => Record<string, unknown> }).metadata?.() ?? {};
      const fetched = FETCHED_URIS.find((name) => metadata[name] !== undefined);
      if (fetched !== undefined) {
        options.logger.warn(
          { client_id: clientId, field: fetched },
          "client metadata document refused: it names a URL the server would fetch",
        );
        return false;
      }
      for (const uri of Array.isArray(redirectUris) ? redirectUris : []) {
        const problem = typeof uri === "string" ? redirectUriProblem(uri) : "is not a string";
        if (problem) {
          options.logger.warn(
            { client_id: clientId, redirect_uri: String(uri).slice(0, 200), problem },
            "client metadata document refused: a redirect URI breaks the redirect URI rules",
          );
          return false;
        }
      }
      return true;
    },
    allowFetch: async (_ctx: unknown, clientId: string): Promise<boolean> => {
      options.logger.info({ client_id: clientId }, "fetching a client metadata document");
      return true;
    },
    fetch: async (url: URL | string, init: RequestInit): Promise<Response> => {
      const release = gate.enter(String(url));
      if (!release) throw new Error("too many client metadata documents being fetched");
      try {
        if (!options.allowLoopback) return await fetch(url, init);
        return await fetchAllowingLoopback(
          new URL(String(url)),
          init.signal ?? undefined,
          options.loopbackCa,
        );
      } finally {
        release();
      }
    },
  };
}

/** GET over https that may reach loopback (development switch): the body is read whole (5 KiB cap). */
function fetchAllowingLoopback(
  url: URL,
  signal: AbortSignal | undefined,
  ca: string | undefined,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { method: "GET", headers: { accept: "application/json" }, agent: false, ...(ca ? { ca } : {}), signal },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > 64 * 1024) req.destroy(new Error("response too large"));
          else chunks.push(chunk);
        });
        res.on("end", () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (typeof value === "string") headers.set(name, value);
          }
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 502, headers }));
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}
