import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { documentAddresses, type ResolveHost } from "./document-addresses.js";
import { DocumentProblem } from "./document-problem.js";
import { fetchPinned } from "./pinned-fetch.js";

/** The fetch connects to the addresses that were checked, not to a second resolution's answer. */
let server: Server;
let port: number;
const seen: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe("pinned fetch", () => {
  it("connects to the checked address whatever the name would resolve to, and sends the name as Host", async () => {
    // `docs.invalid` resolves nowhere (RFC 6761): only the pinned address can have been used.
    const body = await fetchPinned(
      new URL(`http://docs.invalid:${port}/client.json`),
      [{ address: "127.0.0.1", family: 4 }],
      {
        maxBytes: 1024,
        signal: new AbortController().signal,
      },
    );
    expect(JSON.parse(body.toString())).toEqual({ ok: true });
    expect(seen.at(-1)?.host).toBe(`docs.invalid:${port}`);
  });

  it("refuses a body over the limit and settles when the deadline fires", async () => {
    const small = fetchPinned(
      new URL(`http://docs.invalid:${port}/x`),
      [{ address: "127.0.0.1", family: 4 }],
      { maxBytes: 4, signal: new AbortController().signal },
    );
    await expect(small).rejects.toBeInstanceOf(DocumentProblem);
    const aborted = AbortSignal.abort();
    await expect(
      fetchPinned(new URL(`http://docs.invalid:${port}/x`), [{ address: "127.0.0.1", family: 4 }], {
        maxBytes: 1024,
        signal: aborted,
      }),
    ).rejects.toThrow(/deadline/);
  });
});

describe("document addresses", () => {
  const resolving =
    (...addresses: string[]): ResolveHost =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  const url = new URL("https://docs.example/client.json");

  it("resolves once and keeps every address only when all are public", async () => {
    expect(await documentAddresses(url, false, resolving("93.184.216.34", "2606:4700::1111"))).toHaveLength(
      2,
    );
    for (const mixed of [
      resolving("93.184.216.34", "10.0.0.1"),
      resolving("::ffff:127.0.0.1"),
      resolving("169.254.169.254"),
      resolving(),
    ]) {
      await expect(documentAddresses(url, false, mixed)).rejects.toBeInstanceOf(DocumentProblem);
    }
  });

  it("admits loopback only under the development switch, never private addresses", async () => {
    await expect(documentAddresses(url, true, resolving("127.0.0.1"))).resolves.toHaveLength(1);
    await expect(documentAddresses(url, false, resolving("127.0.0.1"))).rejects.toBeInstanceOf(
      DocumentProblem,
    );
    await expect(documentAddresses(url, true, resolving("192.168.0.10"))).rejects.toBeInstanceOf(
      DocumentProblem,
    );
  });
});
