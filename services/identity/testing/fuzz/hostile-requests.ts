import { tainted } from "#kit/testing/fuzz/hostile-text.js";
import type { Random } from "#kit/testing/fuzz/seeded-random.js";
import { BROKEN_PERCENT, cleanText, formComponent, headerValue, hostileText } from "./hostile-values.js";
import type { RawRequest } from "./raw-http.js";

/** A generated request and the row of the results table it counts in. */
export interface HostileRequest {
  readonly endpoint: string;
  readonly request: RawRequest;
}

/**
 * Real clients, so that some requests get past the first checks: service credentials for token
 * requests, a registered MCP client and its redirect URI for the authorization endpoint.
 */
export interface KnownClients {
  readonly basic: readonly (readonly [id: string, secret: string])[];
  readonly mcpClientId: string;
  readonly redirectUri: string;
}

/** Well-formed values for some parameters, used often enough to reach the checks behind them. */
function favoured(name: string, known: KnownClients): string | undefined {
  switch (name) {
    case "client_id":
      return known.mcpClientId;
    case "redirect_uri":
      return known.redirectUri;
    case "response_type":
      return "code";
    case "code_challenge":
      return "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    case "code_challenge_method":
      return "S256";
    case "grant_type":
      return "authorization_code";
    case "subject_token_type":
    case "actor_token_type":
    case "requested_token_type":
      return "urn:ietf:params:oauth:token-type:access_token";
    case "resource":
    case "audience":
      return "http://mcp.test/mcp";
    case "token_type_hint":
      return "refresh_token";
    case "scope":
      return "tickets:read";
    case "agent_id":
      return "ticket-reader";
    default:
      return undefined;
  }
}

const TOKEN_PARAMS = [
  "grant_type",
  "client_id",
  "client_secret",
  "code",
  "redirect_uri",
  "code_verifier",
  "refresh_token",
  "subject_token",
  "subject_token_type",
  "actor_token",
  "actor_token_type",
  "resource",
  "audience",
  "scope",
  "requested_token_type",
  "agent_id",
];
// The authorization request's own parameters (RFC 6749 §4.1.1, RFC 7636, RFC 8707), plus the
// sign-in form's fields.
const AUTHORIZE_PARAMS = [
  "response_type",
  "client_id",
  "redirect_uri",
  "scope",
  "state",
  "code_challenge",
  "code_challenge_method",
  "resource",
  "email",
  "password",
  "decision",
];
const ODD_METHODS = [
  "GET",
  "POST",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
  "HEAD",
  "TRACE",
  "PROPFIND",
  "FOO",
  "get",
];
const FORM_TYPES = [
  "application/x-www-form-urlencoded",
  "application/x-www-form-urlencoded; charset=UTF-8",
  "APPLICATION/X-WWW-FORM-URLENCODED",
  "application/json",
  "text/plain",
  "multipart/form-data; boundary=x",
  "",
];

/**
 * Form-encoded parameters: names from the endpoint's list or random, values hostile — or, for
 * the parameters `favoured` knows, often well-formed — some repeated.
 */
function form(r: Random, names: readonly string[], known?: KnownClients): string {
  const pairs: string[] = [];
  // Distinct names (a repeated one is refused before anything else is read), a few random ones.
  const chosen = names.filter(() => r.chance(0.4));
  for (let i = r.int(3); i > 0; i--) chosen.splice(r.int(chosen.length + 1), 0, formComponent(r));
  // Chaos: every value hostile. Focused: every value well-formed but one — a well-formed value
  // with a control character in it, or any hostile one — which so gets as far as it can.
  const focused = known !== undefined && r.chance(0.6);
  const target = r.int(chosen.length);
  const value = (name: string, i: number) => {
    const good = known ? favoured(name, known) : undefined;
    if (!focused) return good !== undefined && r.chance(0.5) ? encodeURIComponent(good) : formComponent(r);
    const clean = good ?? cleanText(r);
    if (i !== target) return encodeURIComponent(clean);
    return r.chance(0.6) ? encodeURIComponent(tainted(r, clean)) : formComponent(r);
  };
  chosen.forEach((name, i) => {
    pairs.push(r.chance(0.03) ? name : `${name}=${value(name, i)}`);
    if (r.chance(0.03)) pairs.push(`${name}=${formComponent(r)}`);
  });
  if (r.chance(0.05)) pairs.push(r.pick(BROKEN_PERCENT));
  return pairs.join(r.chance(0.05) ? ";" : "&");
}

function basic(r: Random, known: KnownClients): string {
  switch (r.int(6)) {
    case 0:
      return `Basic ${Buffer.from(`${formComponent(r)}:${formComponent(r)}`, "latin1").toString("base64")}`;
    case 1:
      return `Basic ${r.bytes(1 + r.int(40)).toString("base64")}`;
    case 2:
      return r.pick([
        "Basic",
        "Basic !!!",
        "Basic =",
        "Bearer x",
        "basic Og==",
        `Basic ${"QUFB".repeat(2_000)}`,
      ]);
    default: {
      const [id, secret] = r.pick(known.basic);
      return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;
    }
  }
}

/** Extra headers any endpoint reads or might: forwarding, cookies, origin, trace, request id. */
function extraHeaders(r: Random): [string, Buffer][] {
  const headers: [string, Buffer][] = [];
  for (const name of [
    "x-forwarded-for",
    "cookie",
    "origin",
    "traceparent",
    "x-request-id",
    "accept",
    "content-encoding",
  ]) {
    if (r.chance(0.12))
      headers.push([
        name,
        name === "cookie" && r.chance(0.5)
          ? Buffer.from(`sx_oauth_csrf=${formComponent(r)}`, "latin1")
          : headerValue(r),
      ]);
  }
  return headers;
}

function method(r: Random, usual: string): string {
  return r.chance(0.08) ? r.pick(ODD_METHODS) : usual;
}

function withQueryNoise(r: Random, path: string): string {
  return r.chance(0.1) ? `${path}?${form(r, TOKEN_PARAMS)}` : path;
}

/** The token endpoint's grants, each with its parameters and whether a service authenticates. */
const TOKEN_SCENARIOS: readonly { grant: string; names: readonly string[]; service: boolean }[] = [
  {
    grant: "authorization_code",
    names: ["client_id", "code", "redirect_uri", "code_verifier", "resource"],
    service: false,
  },
  { grant: "refresh_token", names: ["client_id", "refresh_token", "scope", "resource"], service: false },
  { grant: "client_credentials", names: ["audience", "agent_id", "scope", "resource"], service: true },
  {
    grant: "urn:ietf:params:oauth:grant-type:token-exchange",
    names: [
      "subject_token",
      "subject_token_type",
      "actor_token",
      "actor_token_type",
      "resource",
      "scope",
      "audience",
      "requested_token_type",
    ],
    service: true,
  },
];

/**
 * A token request: half the time a grant's own parameters, all well-formed but one hostile one
 * (the grant type, the client, a credential or any parameter), so it reaches as deep as it can;
 * otherwise chaos over every token parameter.
 */
function tokenRequest(r: Random, known: KnownClients): HostileRequest {
  const headers: [string, string | Buffer][] = [];
  if (r.chance(0.9))
    headers.push(["content-type", r.chance(0.85) ? (FORM_TYPES[0] as string) : r.pick(FORM_TYPES)]);
  let body: Buffer;
  if (r.chance(0.5)) {
    const scenario = r.pick(TOKEN_SCENARIOS);
    const params = new Map<string, string>([["grant_type", scenario.grant]]);
    for (const name of scenario.names) params.set(name, favoured(name, known) ?? cleanText(r));
    const credentials = scenario.service ? r.pick(known.basic) : undefined;
    const names = [...params.keys(), ...(credentials ? ["(basic id)", "(basic secret)"] : [])];
    const target = r.pick(names);
    const spoil = (value: string) => (r.chance(0.7) ? tainted(r, value) : hostileText(r));
    if (params.has(target)) params.set(target, spoil(params.get(target) ?? ""));
    if (credentials) {
      const [id, secret] = credentials;
      const user = encodeURIComponent(target === "(basic id)" ? spoil(id) : id);
      const password = encodeURIComponent(target === "(basic secret)" ? spoil(secret) : secret);
      headers.push(["authorization", `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`]);
    }
    body = Buffer.from([...params].map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join("&"));
  } else {
    if (r.chance(0.5)) headers.push(["authorization", basic(r, known)]);
    body = Buffer.from(form(r, TOKEN_PARAMS, known), "latin1");
    if (r.chance(0.05)) body = r.bytes(r.int(2_000));
    if (r.chance(0.02)) body = Buffer.from(`grant_type=client_credentials&x=${"a".repeat(70_000)}`);
  }
  return {
    endpoint: "POST /oauth2/token",
    request: {
      method: method(r, "POST"),
      target: withQueryNoise(r, "/oauth2/token"),
      headers: [...headers, ...extraHeaders(r)],
      body,
      chunked: r.chance(0.05),
    },
  };
}

const AUTHORIZE_REQUIRED = [
  "response_type",
  "client_id",
  "redirect_uri",
  "code_challenge",
  "code_challenge_method",
];

/** An authorization request that is often valid but for a few hostile parameters (state, scope, …). */
function authorizeForm(r: Random, known: KnownClients): string {
  if (r.chance(0.4)) return form(r, AUTHORIZE_PARAMS, known);
  const params = new Map(
    AUTHORIZE_REQUIRED.map((name) => [name, encodeURIComponent(favoured(name, known) ?? "")]),
  );
  if (r.chance(0.3)) {
    const name = r.pick(AUTHORIZE_REQUIRED);
    params.set(
      name,
      r.chance(0.5) ? formComponent(r) : encodeURIComponent(tainted(r, favoured(name, known) ?? "")),
    );
  }
  for (let i = r.int(5); i > 0; i--) params.set(r.pick(AUTHORIZE_PARAMS), formComponent(r));
  return [...params].map(([name, value]) => `${name}=${value}`).join("&");
}

function authorizeGet(r: Random, known: KnownClients): HostileRequest {
  const target = r.chance(0.05)
    ? Buffer.concat([Buffer.from("/oauth2/authorize?client_id="), r.bytes(1 + r.int(20))])
    : `/oauth2/authorize?${authorizeForm(r, known)}`;
  return {
    endpoint: "GET /oauth2/authorize",
    request: { method: method(r, "GET"), target, headers: extraHeaders(r) },
  };
}

function authorizePost(r: Random, known: KnownClients): HostileRequest {
  const headers: [string, string | Buffer][] = [];
  if (r.chance(0.9))
    headers.push(["content-type", r.chance(0.8) ? (FORM_TYPES[0] as string) : r.pick(FORM_TYPES)]);
  const body = r.chance(0.05) ? r.bytes(r.int(3_000)) : Buffer.from(authorizeForm(r, known), "latin1");
  // The sign-in page's form (an interaction that is not this browser's) or a POSTed authorization request.
  const target = r.chance(0.5)
    ? `/oauth2/interaction/${r.chance(0.5) ? "x".repeat(43) : formComponent(r)}`
    : "/oauth2/authorize";
  return {
    endpoint: target.startsWith("/oauth2/interaction/")
      ? "POST /oauth2/interaction/…"
      : "POST /oauth2/authorize",
    request: {
      method: "POST",
      target,
      headers: [...headers, ...extraHeaders(r)],
      body,
      chunked: r.chance(0.05),
    },
  };
}

/** JSON text with hostile strings (escaped controls, lone surrogates), odd shapes and bombs. */
function registrationJson(r: Random): string {
  const uri = () =>
    r.pick(["https://app.example/cb", "http://127.0.0.1:4711/callback", "com.example.app:/cb"]);
  const str = () => {
    switch (r.int(5)) {
      case 0:
        return `"${r.pick(["\\u0000", "\\ud800", "\\udfff", "\\u001f", "\\n", "\\u0085"])}${r.int(9)}"`;
      case 1:
        return JSON.stringify(tainted(r, uri()));
      case 2:
        return `"${uri()}${r.pick(["\\ud800", "\\udfff", "\\udbff\\u0041"])}"`;
      default:
        return JSON.stringify(r.chance(0.4) ? uri() : hostileText(r));
    }
  };
  switch (r.int(10)) {
    case 0:
      return "[".repeat(1 + r.int(15_000));
    case 1:
      return `{"redirect_uris":${"[".repeat(5_000)}"https://a.example/cb"${"]".repeat(5_000)}}`;
    case 2:
      return `{"redirect_uris":[${Array.from({ length: 3_000 }, () => '"x"').join(",")}]}`;
    case 3:
      return `{"__proto__":{"redirect_uris":["https://a.example/cb"]},"constructor":{"prototype":{"x":1}},"redirect_uris":[${str()}]}`;
    case 4:
      return r.pick([
        '{"redirect_uris":1e999}',
        '{"redirect_uris":null}',
        "null",
        "true",
        '"x"',
        "{",
        "",
        '{"a":1,"a":2}',
        "[]",
      ]);
    case 5:
      return r.bytes(r.int(500)).toString("latin1");
    default: {
      const fields: string[] = [`"redirect_uris":[${Array.from({ length: r.int(4) }, str).join(",")}]`];
      if (r.chance(0.5)) fields.push(`"client_name":${str()}`);
      if (r.chance(0.4)) fields.push(`"token_endpoint_auth_method":${r.chance(0.5) ? str() : '"none"'}`);
      if (r.chance(0.3)) fields.push(`"grant_types":[${str()}]`);
      if (r.chance(0.2)) fields.push(`${str()}:${str()}`);
      return `{${fields.join(",")}}`;
    }
  }
}

function register(r: Random): HostileRequest {
  const headers: [string, string | Buffer][] = [];
  if (r.chance(0.9))
    headers.push([
      "content-type",
      r.chance(0.85)
        ? "application/json"
        : r.pick(["text/plain", "application/json; charset=utf-16", "application/x-www-form-urlencoded", ""]),
    ]);
  const body = r.chance(0.03)
    ? Buffer.from(`{"redirect_uris":["${"a".repeat(20_000)}"]}`)
    : Buffer.from(registrationJson(r), r.chance(0.1) ? "latin1" : "utf8");
  return {
    endpoint: "POST /oauth2/register",
    request: {
      method: method(r, "POST"),
      target: withQueryNoise(r, "/oauth2/register"),
      headers: [...headers, ...extraHeaders(r)],
      body,
      chunked: r.chance(0.05),
    },
  };
}

const REVOKE_PARAMS = ["token", "token_type_hint", "client_id", "client_secret"] as const;

/**
 * RFC 7009 revocation: a public client naming itself in the form, or a service by Basic
 * credentials, with a hostile token or hint — or chaos over the form.
 */
function revokeRequest(r: Random, known: KnownClients): HostileRequest {
  const headers: [string, string | Buffer][] = [];
  if (r.chance(0.9))
    headers.push(["content-type", r.chance(0.85) ? (FORM_TYPES[0] as string) : r.pick(FORM_TYPES)]);
  if (r.chance(0.3)) headers.push(["authorization", basic(r, known)]);
  let body: Buffer = Buffer.from(form(r, REVOKE_PARAMS, known), "latin1");
  if (r.chance(0.05)) body = r.bytes(r.int(2_000));
  return {
    endpoint: "POST /oauth2/revoke",
    request: {
      method: method(r, "POST"),
      target: withQueryNoise(r, "/oauth2/revoke"),
      headers: [...headers, ...extraHeaders(r)],
      body,
      chunked: r.chance(0.05),
    },
  };
}

/**
 * RFC 7592's read of a registration: the client's path with a hostile id, or the real one with a
 * hostile registration access token.
 */
function registrationRead(r: Random, known: KnownClients): HostileRequest {
  const id = r.chance(0.5) ? known.mcpClientId : formComponent(r);
  const headers: [string, string | Buffer][] = [];
  if (r.chance(0.7))
    headers.push(["authorization", r.chance(0.5) ? `Bearer ${formComponent(r)}` : headerValue(r)]);
  return {
    endpoint: "GET /oauth2/register/…",
    request: {
      method: method(r, "GET"),
      target: `/oauth2/register/${id}`,
      headers: [...headers, ...extraHeaders(r)],
    },
  };
}

function publicDocument(r: Random, path: string): HostileRequest {
  const body = r.chance(0.2) ? r.bytes(r.int(200)) : undefined;
  return {
    endpoint: `GET ${path}`,
    request: {
      method: method(r, "GET"),
      target: withQueryNoise(r, path),
      headers: extraHeaders(r),
      ...(body ? { body } : {}),
    },
  };
}

/** Protobuf wire bytes for string fields 1 and 2 — well-formed framing around hostile contents. */
function protoStrings(r: Random): Buffer {
  const field = (no: number, value: Buffer) =>
    Buffer.concat([Buffer.from([(no << 3) | 2]), varint(value.length), value]);
  const value = () =>
    r.chance(0.3) ? r.bytes(r.int(30)) : Buffer.from(hostileText(r).slice(0, 5_000), "utf8");
  return Buffer.concat([field(1, value()), ...(r.chance(0.7) ? [field(2, value())] : [])]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

const RPCS = [
  ["Login", ["email", "password"]],
  ["Refresh", ["refreshToken"]],
  ["Logout", ["refreshToken"]],
  ["WhoAmI", []],
] as const;

function connectRpc(r: Random, binary: boolean): HostileRequest {
  const [name, fields] = r.chance(0.6) ? RPCS[0] : r.pick(RPCS);
  const headers: [string, string | Buffer][] = [];
  const type = binary ? "application/proto" : "application/json";
  headers.push([
    "content-type",
    r.chance(0.9)
      ? type
      : r.pick([
          "application/connect+json",
          "application/grpc-web+proto",
          "text/plain",
          "application/json; charset=latin1",
          "",
        ]),
  ]);
  if (r.chance(0.3)) headers.push(["connect-protocol-version", r.chance(0.7) ? "1" : headerValue(r)]);
  if (r.chance(0.1)) headers.push(["connect-timeout-ms", r.pick(["-1", "0", "99999999999999", "abc", "1"])]);
  if (r.chance(0.15))
    headers.push([
      "authorization",
      r.chance(0.5) ? `Bearer ${headerValue(r).toString("latin1")}` : headerValue(r),
    ]);
  let body: Buffer;
  if (binary) {
    body = r.chance(0.6) ? protoStrings(r) : r.bytes(r.int(200));
  } else if (r.chance(0.15)) {
    body = Buffer.from(
      r.pick([
        "[".repeat(10_000),
        "{",
        "null",
        '{"email":1}',
        '{"email":"\\ud800x","password":"p"}',
        "",
        '{"email":"a@b","email":"c@d"}',
      ]),
    );
  } else {
    const entries = fields.map(
      (f) =>
        `"${f}":${r.chance(0.3) ? `"${r.pick(["\\u0000", "\\ud800", "\\u0001", "\\u007f"])}@x"` : JSON.stringify(hostileText(r))}`,
    );
    body = Buffer.from(`{${entries.join(",")}}`, "utf8");
  }
  const path = `/supportext.auth.v1.AuthService/${name}`;
  return {
    endpoint: `AuthService/${name} (${binary ? "binary" : "JSON"})`,
    request: { method: method(r, "POST"), target: path, headers: [...headers, ...extraHeaders(r)], body },
  };
}

/** How many requests of each kind one run sends (thousands in all, within a test's time). */
export const MIX: readonly [weight: number, make: (r: Random, known: KnownClients) => HostileRequest][] = [
  [24, tokenRequest],
  [14, authorizeGet],
  [10, authorizePost],
  [14, (r) => register(r)],
  [6, revokeRequest],
  [3, registrationRead],
  [4, (r) => publicDocument(r, "/.well-known/oauth-authorization-server")],
  [2, (r) => publicDocument(r, "/.well-known/openid-configuration")],
  [4, (r) => publicDocument(r, "/.well-known/jwks.json")],
  [16, (r) => connectRpc(r, false)],
  [14, (r) => connectRpc(r, true)],
];

export function hostileRequest(r: Random, known: KnownClients): HostileRequest {
  const total = MIX.reduce((sum, [w]) => sum + w, 0);
  let at = r.int(total);
  for (const [weight, make] of MIX) {
    if (at < weight) return make(r, known);
    at -= weight;
  }
  throw new Error("unreachable");
}
