import type { LookupAddress } from "node:dns";
import * as http from "node:http";
import * as https from "node:https";
import type { LookupFunction } from "node:net";
import { DocumentProblem } from "./document-problem.js";

export interface PinnedFetchLimits {
  /** The body's size at most: a larger one (declared or received) is refused. */
  readonly maxBytes: number;
  /** Aborts everything — connect, headers, a trickling body — at the caller's deadline. */
  readonly signal: AbortSignal;
}

/**
 * `GET url` with the connection pinned to `addresses` (already checked, document-addresses.ts):
 * the request's own lookup answers with them instead of resolving the name again, while TLS still
 * verifies the certificate for the URL's host name (SNI is the name). No redirect is followed, no
 * connection reused (`agent: false`). Any status but 200, a body over `maxBytes`, or the signal
 * firing is a DocumentProblem; the promise always settles, and the socket is always destroyed.
 */
export function fetchPinned(
  url: URL,
  addresses: readonly LookupAddress[],
  limits: PinnedFetchLimits,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let settled = false;
    const settle = (err: DocumentProblem | undefined, body?: Buffer) => {
      if (settled) return;
      settled = true;
      limits.signal.removeEventListener("abort", onAbort);
      req.destroy();
      if (err) reject(err);
      else resolve(body ?? Buffer.alloc(0));
    };
    const onAbort = () => settle(new DocumentProblem("no complete answer before the deadline"));
    const request = url.protocol === "https:" ? https.request : http.request;
    const req = request(
      url,
      {
        method: "GET",
        headers: { accept: "application/json" },
        agent: false,
        lookup: pinnedLookup(addresses),
        maxHeaderSize: 8 * 1024,
      },
      (res) => {
        if (res.statusCode !== 200) return settle(new DocumentProblem(`answered HTTP ${res.statusCode}`));
        if (Number(res.headers["content-length"] ?? 0) > limits.maxBytes) {
          return settle(new DocumentProblem(`declared a body over ${limits.maxBytes} bytes`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > limits.maxBytes)
            settle(new DocumentProblem(`sent a body over ${limits.maxBytes} bytes`));
          else chunks.push(chunk);
        });
        res.on("end", () => settle(undefined, Buffer.concat(chunks)));
        res.on("error", (err) => settle(new DocumentProblem(`the answer broke off (${describe(err)})`)));
        res.on("close", () => settle(new DocumentProblem("the answer broke off")));
      },
    );
    req.on("error", (err) => settle(new DocumentProblem(`could not be fetched (${describe(err)})`)));
    if (limits.signal.aborted) return onAbort();
    limits.signal.addEventListener("abort", onAbort, { once: true });
    req.end();
  });
}

/** A `lookup` for http(s).request that answers with the checked addresses, never asking DNS. */
function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const first = addresses[0];
    if (!first) {
      callback(Object.assign(new Error("no address"), { code: "ENOTFOUND" }), "", 0);
      return;
    }
    // Node's connect asks for every address when it races IPv4 and IPv6 (autoSelectFamily).
    if (options.all) (callback as unknown as (err: null, all: LookupAddress[]) => void)(null, [...addresses]);
    else callback(null, first.address, first.family);
  };
}

function describe(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : "error");
}
