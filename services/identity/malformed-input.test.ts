import { connect } from "node:http2";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserAdminService } from "#gen/supportext/auth/v1/user_admin_pb.js";
import { bearer, startTestIdentity, type TestIdentity } from "./testing/test-identity.js";
import { postTokenRequest } from "./testing/token-request.js";

/**
 * A NUL or other control character in any parameter the identity service reads
 * is refused where parameters are parsed — 400 invalid_request (JSON at the token and
 * registration endpoints, the error page at the authorization endpoint), invalid_argument on the
 * RPCs — never a 500 and never a stack in the log (PostgreSQL refuses NUL in text, and lone
 * surrogates in jsonb, so these used to fail in the store).
 */
let identity: TestIdentity;

beforeAll(async () => {
  identity = await startTestIdentity();
});
afterAll(async () => {
  await identity?.dispose();
});

const noStacks = () => expect(identity.logs.lines.filter((line) => line.includes('"stack"'))).toEqual([]);
const form = (body: string, headers: Record<string, string> = {}) =>
  fetch(`${identity.url}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
  });

async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

describe("malformed parameters at the HTTP endpoints", () => {
  it("GET /oauth2/authorize?client_id=%00 (and other controls, broken encodings): the error page, 400", async () => {
    for (const query of [
      "client_id=%00",
      "client_id=mcp_x%0D%0Aa",
      "client_id=%",
      "client_id=%C0%80",
      "redirect_uri=%00&client_id=mcp_x",
      "state=%1B",
    ]) {
      const res = await fetch(`${identity.url}/oauth2/authorize?${query}`, { redirect: "manual" });
      expect(res.status, query).toBe(400);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expect(res.headers.get("location")).toBeNull();
    }
    noStacks();
  });

  it("POST /oauth2/token with client_id=%00, a control in any parameter or in Basic credentials: 400 invalid_request", async () => {
    const cases = [
      form("grant_type=authorization_code&client_id=%00"),
      form("grant_type=refresh_token&client_id=mcp_x&refresh_token=sxo_%00"),
      form("grant_type=client_credentials&audience=identity%07", {
        authorization: basicOf("chat", identity.env.CHAT_CLIENT_SECRET ?? ""),
      }),
      form("grant_type=authorization_code", {
        authorization: `Basic ${Buffer.from("mcp_%00:x").toString("base64")}`,
      }),
      form("grant_type=authorization_code", {
        authorization: `Basic ${Buffer.from("a\u0000b:x").toString("base64")}`,
      }),
      form("grant_type=authorization_code&client_id=%ZZ"),
    ];
    for (const [i, res] of (await Promise.all(cases)).entries()) {
      expect([i, res.status, ((await res.json()) as { error: string }).error]).toEqual([
        i,
        400,
        "invalid_request",
      ]);
    }
    const exchange = await postTokenRequest(
      identity.url,
      { grant_type: "urn:ietf:params:oauth:grant-type:token-exchange", subject_token: "eyJ\u0000" },
      { basic: [identity.config.GATEWAY_CLIENT_ID, identity.config.GATEWAY_CLIENT_SECRET] },
    );
    expect([exchange.status, exchange.body.error]).toEqual([400, "invalid_request"]);
    noStacks();
  });

  it("POST /oauth2/register with a control character or a lone surrogate in any string: 400 invalid_request", async () => {
    for (const body of [
      '{"redirect_uris":["https://a.example/\\u0000"]}',
      '{"redirect_uris":["https://a.example/\\ud800"]}',
      '{"redirect_uris":["https://a.example/cb"],"client_name":"x\\u0000"}',
      '{"redirect_uris":["https://a.example/cb"],"\\u0000":1}',
    ]) {
      const res = await fetch(`${identity.url}/oauth2/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      expect(res.status, body).toBe(400);
      expect(await res.json()).toMatchObject({ error: "invalid_request" });
    }
    noStacks();
  });
});

describe("malformed fields on the RPCs", () => {
  it("Login with a NUL email or password is invalid_argument, never internal", async () => {
    expect(await codeOf(identity.auth.login({ email: "admin@company.com\u0000", password: "x" }))).toBe(
      Code.InvalidArgument,
    );
    expect(await codeOf(identity.auth.login({ email: "\u0000", password: "\u0000" }))).toBe(
      Code.InvalidArgument,
    );
    expect(
      await codeOf(
        identity.auth.login({ email: "admin@company.com", password: `${identity.passwords.admin}\u0000` }),
      ),
    ).toBe(Code.InvalidArgument);
    expect(await codeOf(identity.auth.refresh({ refreshToken: "sxr_\u0000" }))).toBe(Code.InvalidArgument);
    noStacks();
  });

  it("CreateUser with NUL in any field is invalid_argument, and nothing is created", async () => {
    const admins = createClient(
      UserAdminService,
      createConnectTransport({ baseUrl: identity.url, httpVersion: "1.1" }),
    );
    const login = await identity.auth.login({
      email: "admin@company.com",
      password: identity.passwords.admin,
    });
    const token = login.tokens?.accessToken ?? "";
    const good = { email: "nul@company.com", name: "Nul", password: "a-long-password", roles: ["viewer"] };
    for (const field of ["email", "name", "password"] as const) {
      expect(
        await codeOf(
          admins.createUser({ user: { ...good, [field]: `${good[field]}\u0000` } }, bearer(token)),
        ),
        field,
      ).toBe(Code.InvalidArgument);
    }
    expect(
      await codeOf(admins.createUser({ user: { ...good, roles: ["viewer\u0000"] } }, bearer(token))),
    ).toBe(Code.InvalidArgument);
    expect(await codeOf(identity.auth.login({ email: good.email, password: good.password }))).toBe(
      Code.Unauthenticated,
    );
    noStacks();
  });

  it("a request message that is not protobuf (bad tag, non-UTF-8 string) is invalid_argument on Connect, gRPC and gRPC-web", async () => {
    const login = `${identity.url}/supportext.auth.v1.AuthService/Login`;
    for (const body of [
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]),
      Buffer.from([0x0a, 0x02, 0xff, 0xfe, 0x12, 0x01, 0x78]),
    ]) {
      const res = await fetch(login, {
        method: "POST",
        headers: { "content-type": "application/proto" },
        body,
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: "invalid_argument" });
      const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]);
      const web = await fetch(login, {
        method: "POST",
        headers: { "content-type": "application/grpc-web+proto" },
        body: framed,
      });
      expect(Buffer.from(await web.arrayBuffer()).toString("latin1")).toMatch(/grpc-status: 3\r\n/);
    }
    expect(await grpcStatusOf(login, Buffer.from([0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x0f]))).toBe("3");
    const compressed = await fetch(login, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "zstd" },
      body: "{}",
    });
    expect(compressed.status).toBe(415);
    expect(await compressed.json()).toMatchObject({ code: "unimplemented" });
    noStacks();
  });
});

/** The grpc-status of a gRPC call over h2c carrying `framed` (one length-prefixed message). */
async function grpcStatusOf(url: string, framed: Buffer): Promise<string | undefined> {
  const { origin, pathname } = new URL(url);
  const session = connect(origin);
  try {
    const stream = session.request({
      ":method": "POST",
      ":path": pathname,
      "content-type": "application/grpc",
      te: "trailers",
    });
    let status: string | undefined;
    stream.on("response", (headers) => {
      status ??= headers["grpc-status"] as string | undefined;
    });
    stream.on("trailers", (trailers) => {
      status = trailers["grpc-status"] as string | undefined;
    });
    stream.resume();
    stream.end(framed);
    await new Promise((resolve) => stream.on("close", resolve));
    return status;
  } finally {
    session.close();
  }
}

function basicOf(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;
}
