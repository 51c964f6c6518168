import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SelfSigned, selfSignedLoopbackCertificate } from "#kit/testing/self-signed.js";
import { startTestIdentity, type TestIdentity } from "../testing/test-identity.js";
import { openAuthorizePage, pkcePair } from "./testing/login-browser.js";
import { authorizeUrl } from "./testing/oauth-client-calls.js";

/**
 * A Client ID Metadata Document is fetched only over https from public addresses
 * (or loopback under the development switch), bounded in size, time and concurrency, and whatever
 * answered — a slow trickle, 404, 401, an oversized body, nothing at all — the requester gets the
 * same refusal (docs/identity.md, "Client ID Metadata Documents").
 */
const REDIRECT = "http://127.0.0.1:4711/callback";

let certificate: SelfSigned;
let docs: Server;
let docsBase: string;
const requested: string[] = [];
const held: ServerResponse[] = [];

/** Documents on loopback: good, slow (a byte every 100 ms), 404, 401, oversized, and held until released. */
function serveDocuments(req: IncomingMessage, res: ServerResponse): void {
  const path = req.url ?? "";
  requested.push(path);
  const doc = JSON.stringify({
    client_id: `${docsBase}${path}`,
    client_name: "Doc client",
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: "none",
  });
  if (path.startsWith("/good/"))
    return void res.writeHead(200, { "content-type": "application/json" }).end(doc);
  if (path.startsWith("/slow/")) {
    res.writeHead(200, { "content-type": "application/json" });
    let at = 0;
    const timer = setInterval(() => (at >= doc.length ? res.end() : res.write(doc[at++])), 100);
    res.on("close", () => clearInterval(timer));
    return;
  }
  if (path.startsWith("/missing/")) return void res.writeHead(404).end("no such document");
  if (path.startsWith("/secret/"))
    return void res.writeHead(401, { "www-authenticate": 'Bearer realm="internal"' }).end("{}");
  if (path.startsWith("/big/"))
    return void res
      .writeHead(200, { "content-type": "application/json" })
      .end(`${doc.slice(0, -1)},"pad":"${"x".repeat(10_000)}"}`);
  if (path.startsWith("/hold/")) return void held.push(res);
  res.writeHead(500).end();
}

/** What the browser meets at the authorization endpoint for a document client id. */
async function authorizeAs(clientId: string, identity: TestIdentity) {
  const page = await openAuthorizePage(
    authorizeUrl(identity.url, { clientId, redirectUri: REDIRECT, challenge: pkcePair().challenge }),
  );
  return { status: page.status, location: page.location, text: page.html.replace(/<[^>]+>/g, " ") };
}

beforeAll(async () => {
  certificate = await selfSignedLoopbackCertificate();
  docs = createServer({ key: certificate.key, cert: certificate.cert }, serveDocuments);
  await new Promise<void>((resolve) => docs.listen(0, "127.0.0.1", resolve));
  docsBase = `https://127.0.0.1:${(docs.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const res of held) res.destroy();
  await new Promise((resolve) => docs?.close(resolve));
});

describe("metadata documents in development and tests (loopback allowed)", () => {
  let identity: TestIdentity;
  beforeAll(async () => {
    identity = await startTestIdentity(
      {},
      { oauth: { metadataDocuments: { loopbackCa: certificate.cert, maxInFlight: 2 } } },
    );
  });
  afterAll(() => identity?.dispose());

  it("a good document is a client; a slow trickle, a 404, a 401, an oversized one and a closed port all get one refusal", async () => {
    const good = await authorizeAs(`${docsBase}/good/a.json`, identity);
    expect([good.status, good.location]).toEqual([200, null]);
    expect(good.text).toContain("Doc client");
    const refusals = new Set<string>();
    for (const path of ["/slow/a.json", "/missing/a.json", "/secret/a.json", "/big/a.json"]) {
      const page = await authorizeAs(`${docsBase}${path}`, identity);
      expect([page.status, page.location], path).toEqual([400, null]);
      expect(page.text, path).not.toMatch(/404|401|realm|internal|too large|timeout|no such document/i);
      refusals.add(page.text.replace(/\s+/g, " ").trim());
    }
    const closed = await authorizeAs("https://127.0.0.1:1/a.json", identity);
    expect(closed.status).toBe(400);
    refusals.add(closed.text.replace(/\s+/g, " ").trim());
    expect(refusals.size).toBe(1);
  }, 60_000);

  it("at most maxInFlight fetches at once: beyond, refused at once rather than queued", async () => {
    const before = held.length;
    const pending = [1, 2].map((n) => authorizeAs(`${docsBase}/hold/${n}.json`, identity));
    while (held.length < before + 2) await new Promise((r) => setTimeout(r, 20));
    const third = await authorizeAs(`${docsBase}/good/third.json`, identity);
    expect([third.status, third.location]).toEqual([400, null]);
    expect(requested).not.toContain("/good/third.json");
    for (const res of held.splice(before)) res.writeHead(404).end();
    for (const page of await Promise.all(pending)) expect(page.status).toBe(400);
    // The gate is free again.
    expect((await authorizeAs(`${docsBase}/good/fourth.json`, identity)).status).toBe(200);
  }, 60_000);
});

describe("metadata documents in production", () => {
  let identity: TestIdentity;
  beforeAll(async () => {
    identity = await startTestIdentity(
      { CLIENT_METADATA_ALLOW_LOOPBACK: "0" },
      { oauth: { metadataDocuments: { loopbackCa: certificate.cert } } },
    );
  });
  afterAll(() => identity?.dispose());

  it("refuses loopback documents and http client ids without asking them for anything", async () => {
    expect(identity.config.CLIENT_METADATA_ALLOW_LOOPBACK).toBe(false);
    const before = requested.length;
    for (const clientId of [
      `${docsBase}/good/prod.json`,
      `https://localhost:${new URL(docsBase).port}/good/prod.json`,
      `http://127.0.0.1:${new URL(docsBase).port}/good/prod.json`,
    ]) {
      const page = await authorizeAs(clientId, identity);
      expect([page.status, page.location], clientId).toEqual([400, null]);
    }
    expect(requested.slice(before)).toEqual([]);
  }, 60_000);
});
