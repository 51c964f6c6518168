import { promises as dns, type LookupAddress } from "node:dns";
import { isIP } from "node:net";
import { isLoopbackAddress, isPublicAddress } from "./address-policy.js";
import { DocumentProblem } from "./document-problem.js";

/** Every address a host name resolves to (the system resolver: node:dns lookup, all of them). */
export type ResolveHost = (hostname: string) => Promise<readonly LookupAddress[]>;

export const systemResolver: ResolveHost = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/**
 * The addresses a document's host may be reached at: resolved here, once, and every one of them
 * public (address-policy.ts) — or loopback when the development switch allows it — else none is
 * used. The fetch then connects to exactly these (pinned-fetch.ts), so a second resolution can't
 * swap in an internal address (DNS rebinding).
 */
export async function documentAddresses(
  url: URL,
  allowLoopback: boolean,
  resolve: ResolveHost,
): Promise<LookupAddress[]> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const family = isIP(host);
  let found: readonly LookupAddress[];
  if (family !== 0) {
    found = [{ address: host, family }];
  } else {
    try {
      found = await resolve(host);
    } catch (err) {
      throw new DocumentProblem(
        `the host could not be resolved (${(err as NodeJS.ErrnoException).code ?? "error"})`,
      );
    }
  }
  if (found.length === 0) throw new DocumentProblem("the host resolved to no address");
  const refused = found.find(
    (a) => !isPublicAddress(a.address) && !(allowLoopback && isLoopbackAddress(a.address)),
  );
  if (refused) throw new DocumentProblem(`the host resolves to a non-public address (${refused.address})`);
  return [...found];
}
