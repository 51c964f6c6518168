import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestIdentity, type TestIdentity } from "../testing/test-identity.js";
import { postTokenRequest } from "../testing/token-request.js";
import { DOCUMENT_UNUSABLE } from "./clients/metadata-document.js";

/**
 * Issue 18, item 3: a Client ID Metadata Document is fetched only from public addresses (or
 * loopback under the development switch), bounded in size, time and concurrency, and whatever
 * answered — a slow trickle, 404, 401, nothing at all — the requester gets the same refusal.
 */
const REDIRECT = "http://127.0.0.1:4711/callback";
const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

let docs: Server;
let docsBase: string;
const held: ServerResponse[] = [];
let heldArrivals: (() => void)[] = [];

/** Documents on loopback: good, slow (a byte at a time), 404, 401, and held until released. */
function serveDocuments(req: IncomingMessage, res: ServerResponse): void {
  const path = req.url ?? "";
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
    const timer = setInterval(() => {
      if (at >= doc.length) {
        clearInterval(timer);
        res.end();
      } else res.write(doc[at++]);
    }, 100);
    res.on("close", () => clearInterval(timer));
    return;
  }
  if (path.startsWith("/missing/")) return void res.writeHead(404).end("no such document");
  if (path.startsWith("/secret/"))
    return void res.writeHead(401, { "www-authenticate": 'Bearer realm="internal"' }).end("{}");
  if (path.startsWith("/hold/")) {
    held.push(Object.assign(res, { doc }));
    for (const arrived of heldArrivals) arrived();
    heldArrivals = [];
    return;
  }
  res.writeHead(500).end();
}

const arrivals = (n: number) =>
  new Promise<void>((resolve) => {
    const check = () => (held.length >= n ? resolve() : heldArrivals.push(check));
    check();
  });
const releaseAll = () => {
  for (const res of held.splice(0))
    res
      .writeHead(200, { "content-type": "application/json" })
      .end((res as ServerResponse & { doc: string }).doc);
};

async function closedPort(): Promise<number> {
  const probe = createTcpServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const authorize = async (identity: TestIdentity, clientId: string) => {
  const q = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: REDIRECT,
    code_challenge: CHALLENGE,
    code_challenge_method: "S256",
  });
  const res = await fetch(`${identity.url}/oauth2/authorize?${q}`, { redirect: "manual" });
  return { status: res.status, html: await res.text() };
};
const redeem = (identity: TestIdentity, clientId: string) =>
  postTokenRequest(
    identity.url,
    {
      grant_type: "authorization_code",
      client_id: clientId,
      code: "sxc_x",
      redirect_uri: REDIRECT,
      code_verifier: "v".repeat(43),
    },
    { none: true },
  );

beforeAll(async () => {
  docs = createHttpServer(serveDocuments);
  await new Promise<void>((resolve) => docs.listen(0, "127.0.0.1", resolve));
  docsBase = `http://127.0.0.1:${(docs.address() as AddressInfo).port}`;
});
afterAll(async () => {
  releaseAll();
  docs.closeAllConnections();
  await new Promise((resolve) => docs.close(resolve));
});

describe("metadata documents in development and tests (loopback allowed)", () => {
  let identity: TestIdentity;
  beforeAll(async () => {
    identity = await startTestIdentity({}, { oauth: { metadataDocuments: { maxInFlight: 2 } } });
  });
  afterAll(() => identity?.dispose());

  it("a slow trickle, a 404, a 401 and a closed port all get the same refusal, which says nothing of the answer", async () => {
    expect((await authorize(identity, `${docsBase}/good/1.json`)).status).toBe(200);
    const ids = [
      `${docsBase}/slow/1.json`,
      `${docsBase}/missing/1.json`,
      `${docsBase}/secret/1.json`,
      `http://127.0.0.1:${await closedPort()}/gone/1.json`,
    ];
    const pages = [];
    for (const id of ids) pages.push(await authorize(identity, id));
    for (const page of pages) {
      expect(page.status).toBe(400);
      expect(page.html).toBe(pages[0]?.html);
    }
    expect(pages[0]?.html).toContain(DOCUMENT_UNUSABLE);
    for (const leak of ["404", "401", "realm", "no such document", "ECONNREFUSED", "deadline"])
      expect(pages[0]?.html).not.toContain(leak);

    const tokens = [];
    for (const id of [ids[1], ids[2], ids[3]] as string[]) tokens.push(await redeem(identity, id));
    for (const t of tokens)
      expect([t.status, t.body]).toEqual([
        401,
        { error: "invalid_client", error_description: DOCUMENT_UNUSABLE },
      ]);

    // The reasons are in the log only.
    const reasons = identity.logs
      .records()
      .filter((r) => r.msg === "client metadata document refused")
      .map((r) => r.reason);
    expect(reasons).toEqual(
      expect.arrayContaining([
        "answered HTTP 404",
        "answered HTTP 401",
        "no complete answer before the deadline",
      ]),
    );
    expect(identity.logs.lines.filter((line) => line.includes('"stack"'))).toEqual([]);
  });

  it("one fetch in flight per client id, and at most maxInFlight in all: beyond, temporarily_unavailable", async () => {
    const a = `${docsBase}/hold/a.json`;
    const first = authorize(identity, a);
    await arrivals(1);
    const again = await authorize(identity, a);
    expect(again.status).toBe(400);
    expect(again.html).toContain("too many client metadata documents are being fetched");
    const token = await redeem(identity, a);
    expect([token.status, token.body.error, token.headers.get("retry-after")]).toEqual([
      503,
      "temporarily_unavailable",
      "1",
    ]);

    const second = authorize(identity, `${docsBase}/hold/b.json`);
    await arrivals(2);
    const third = await authorize(identity, `${docsBase}/hold/c.json`);
    expect(third.html).toContain("too many client metadata documents are being fetched");
    releaseAll();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    // Released: the same client id is fetched (here: answered from the cache) again.
    expect((await authorize(identity, a)).status).toBe(200);
  });
});

describe("metadata documents in production", () => {
  let identity: TestIdentity;
  let listener: TcpServer;
  let port: number;
  let connections = 0;
  const resolved: string[] = [];

  beforeAll(async () => {
    listener = createTcpServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    port = (listener.address() as AddressInfo).port;
    identity = await startTestIdentity(
      { NODE_ENV: "production" },
      {
        oauth: {
          metadataDocuments: {
            // A name that resolves to loopback (or anything internal) is refused after resolution.
            resolveHost: async (host) => {
              resolved.push(host);
              return [{ address: "127.0.0.1", family: 4 }];
            },
          },
        },
      },
    );
  });
  afterAll(async () => {
    await identity?.dispose();
    await new Promise((resolve) => listener?.close(resolve));
  });

  it("refuses address literals, localhost and names resolving to loopback without connecting", async () => {
    expect(identity.config.CLIENT_METADATA_ALLOW_LOOPBACK).toBe(false);
    for (const id of [
      `https://127.0.0.1:${port}/client.json`,
      `https://[::1]:${port}/client.json`,
      `https://[::ffff:7f00:1]:${port}/client.json`,
      `https://localhost:${port}/client.json`,
      `https://docs.localhost:${port}/client.json`,
      `http://127.0.0.1:${port}/client.json`,
      `https://docs.test:${port}/client.json`,
    ]) {
      const page = await authorize(identity, id);
      expect(page.status, id).toBe(400);
      expect((await redeem(identity, id)).status, id).toBe(401);
    }
    expect(resolved).toEqual(["docs.test", "docs.test"]);
    expect(connections).toBe(0);
  });
});
