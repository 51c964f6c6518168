import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { childEnv } from "#kit/testing/child-env.js";
import { ADMIN, AGENT, type Harness, startHarness, structured, VIEWER } from "./testing/harness.js";

/**
 * AuditService is a Connect service of the kit's server like every other (docs/architecture.md,
 * "One port, three protocols"): `buf curl` — the client developers point at us — reaches it over
 * gRPC (h2c), Connect and gRPC-Web, with no local proto files, through gRPC reflection, on the same
 * port as `/mcp`.
 */
let h: Harness;
let adminToken = "";
const run = promisify(execFile);
// The pinned buf from devDependencies, run directly (no npx lookup) so the test is quick and offline.
const bufBin = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));
const buf = (...args: string[]) =>
  run(bufBin, ["curl", ...args], { timeout: 60_000, env: childEnv() }).then((r) => r.stdout);
const LIST = "supportext.audit.v1.AuditService/ListAuditEntries";

beforeAll(async () => {
  h = await startHarness();
  const agent = await h.connect(await h.token(AGENT));
  structured(
    await agent.callTool({ name: "create_ticket", arguments: { title: "Audited over three protocols" } }),
  );
  // An administrator's own login token (audience API_AUDIENCE), as the audit RPC takes.
  adminToken = await h.issuer.mint({
    sub: ADMIN.sub,
    email: ADMIN.email,
    roles: ADMIN.roles,
    scope: ADMIN.scope,
    aud: h.config.API_AUDIENCE,
  });
});
afterAll(() => h?.close());

describe("AuditService through buf curl, by reflection", () => {
  it("lists AuditService, reflection and health over h2c", async () => {
    const services = (await buf("--http2-prior-knowledge", "--list-services", h.server.url)).split("\n");
    expect(services).toEqual(
      expect.arrayContaining([
        "supportext.audit.v1.AuditService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
      ]),
    );
    const methods = await buf("--http2-prior-knowledge", "--list-methods", h.server.url);
    expect(methods).toContain(LIST);
  });

  it.each([
    ["gRPC over h2c", ["--http2-prior-knowledge", "--protocol", "grpc"]],
    ["Connect over HTTP/1.1", ["--protocol", "connect"]],
    ["gRPC-Web over HTTP/1.1", ["--protocol", "grpcweb"]],
  ])("ListAuditEntries answers over %s", async (_name, protocol) => {
    const out = await buf(
      ...protocol,
      "-H",
      `Authorization: Bearer ${adminToken}`,
      "-d",
      JSON.stringify({ user: AGENT.email }),
      `${h.server.url}/${LIST}`,
    );
    const { entries } = JSON.parse(out) as { entries: { tool: string; userId: string }[] };
    expect(entries.map((e) => [e.tool, e.userId])).toEqual([["create_ticket", AGENT.sub]]);
  });

  it("refuses a viewer permission_denied over gRPC, and no token unauthenticated", async () => {
    const viewerToken = await h.issuer.mint({
      sub: VIEWER.sub,
      email: VIEWER.email,
      roles: VIEWER.roles,
      scope: VIEWER.scope,
      aud: h.config.API_AUDIENCE,
    });
    const grpc = ["--http2-prior-knowledge", "--protocol", "grpc", "-d", "{}"];
    const viewer = await buf(
      ...grpc,
      "-H",
      `Authorization: Bearer ${viewerToken}`,
      `${h.server.url}/${LIST}`,
    ).then(
      () => "answered",
      (err: { stderr?: string }) => err.stderr ?? "",
    );
    expect(viewer).toMatch(/permission_denied/);
    const none = await buf(...grpc, `${h.server.url}/${LIST}`).then(
      () => "answered",
      (err: { stderr?: string }) => err.stderr ?? "",
    );
    expect(none).toMatch(/unauthenticated/);
  });

  it("answers grpc.health.v1 Check: SERVING once ready", async () => {
    const out = await buf(
      "--http2-prior-knowledge",
      "--protocol",
      "grpc",
      "-d",
      "{}",
      `${h.server.url}/grpc.health.v1.Health/Check`,
    );
    expect(JSON.parse(out)).toEqual({ status: "SERVING" });
  });
});
