/**
 * Reflection tests: the bidi stream in memory (both protocol versions), then `buf curl` against a real
 * h2c server, because buf's client is what developers actually point at us.
 */
import { execFile } from "node:child_process";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { DescService, MessageInitShape } from "@bufbuild/protobuf";
import { create, createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import type { FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "#gen/grpc/health/v1/health_pb.js";
import * as v1 from "#gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "#gen/grpc/reflection/v1alpha/reflection_pb.js";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { ChatService } from "#gen/supportext/chat/v1/chat_pb.js";
import { childEnv } from "../testing/child-env.js";
import { createHealth } from "./health.js";
import { registerReflection } from "./reflection.js";

const SERVICES: readonly DescService[] = [AuthService, ChatService, Health];

function routes(router: ConnectRouter): void {
  // Reflection only needs descriptors; the services themselves need not be implemented for it.
  createHealth().register(router);
  registerReflection(router, SERVICES);
}

type Request = MessageInitShape<typeof v1.ServerReflectionRequestSchema>;
type Response = v1.ServerReflectionResponse | v1alpha.ServerReflectionResponse;

/** Sends `requests` on one reflection stream of the given version and collects the answers. */
async function exchange(version: "v1" | "v1alpha", requests: Request[]): Promise<Response[]> {
  const transport = createRouterTransport(routes);
  const out: Response[] = [];
  if (version === "v1") {
    const client = createClient(v1.ServerReflection, transport);
    for await (const res of client.serverReflectionInfo(each(requests))) out.push(res);
  } else {
    const client = createClient(v1alpha.ServerReflection, transport);
    // Same fields, different type names: the v1 init shapes are valid v1alpha init shapes.
    const reqs = requests as MessageInitShape<typeof v1alpha.ServerReflectionRequestSchema>[];
    for await (const res of client.serverReflectionInfo(each(reqs))) out.push(res);
  }
  return out;
}

async function* each<T>(items: readonly T[]): AsyncIterable<T> {
  yield* items;
}

function fileNames(res: Response | undefined): string[] {
  return decodeFiles(res).map((f) => f.name);
}

function decodeFiles(res: Response | undefined): FileDescriptorProto[] {
  const m = res?.messageResponse;
  if (m?.case !== "fileDescriptorResponse") throw new Error(`expected files, got ${m?.case}`);
  return m.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
}

/**
 * Orders files so imports come first, as createFileRegistry(FileDescriptorSet) needs. The answer itself
 * is requested-file-first like grpc-go (clients resolve by name), and protobuf-es's resolver form
 * mis-orders diamond imports (chat → agent → timestamp, chat → timestamp), hence this sort.
 */
function importsFirst(files: readonly FileDescriptorProto[]): FileDescriptorProto[] {
  const byName = new Map(files.map((f) => [f.name, f]));
  const out: FileDescriptorProto[] = [];
  const visit = (f: FileDescriptorProto | undefined) => {
    if (!f || out.includes(f)) return;
    for (const dep of f.dependency) visit(byName.get(dep));
    out.push(f);
  };
  files.forEach(visit);
  return out;
}

const symbol = (s: string): Request => ({ messageRequest: { case: "fileContainingSymbol", value: s } });

describe.each(["v1", "v1alpha"] as const)("reflection %s", (version) => {
  it("lists the given services and the reflection services", async () => {
    const [res] = await exchange(version, [{ messageRequest: { case: "listServices", value: "" } }]);
    expect(res?.messageResponse.case).toBe("listServicesResponse");
    const names =
      res?.messageResponse.case === "listServicesResponse"
        ? res.messageResponse.value.service.map((s) => s.name)
        : [];
    expect(names).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "supportext.auth.v1.AuthService",
      "supportext.chat.v1.ChatService",
    ]);
  });

  it("answers file_containing_symbol for a service with the file and all transitive deps", async () => {
    const [res] = await exchange(version, [symbol("supportext.chat.v1.ChatService")]);
    const names = fileNames(res);
    expect(names[0]).toBe("supportext/chat/v1/chat.proto");
    expect(names).toEqual(
      expect.arrayContaining([
        "supportext/chat/v1/chat.proto",
        "supportext/agent/v1/agent.proto",
        "google/protobuf/timestamp.proto",
      ]),
    );
    expect(new Set(names).size).toBe(names.length);
    // The answer is self-contained: a registry built from it resolves the service and its types.
    const registry = createFileRegistry(
      create(FileDescriptorSetSchema, { file: importsFirst(decodeFiles(res)) }),
    );
    expect(registry.getService("supportext.chat.v1.ChatService")?.methods.length).toBeGreaterThan(0);
    expect(registry.getMessage("supportext.agent.v1.RunEvent")).toBeDefined();
  });

  it.each([
    ["supportext.chat.v1.ChatService.StreamMessage", "supportext/chat/v1/chat.proto"],
    ["supportext.chat.v1.Thread", "supportext/chat/v1/chat.proto"],
    ["supportext.chat.v1.Thread.title", "supportext/chat/v1/chat.proto"],
    ["supportext.chat.v1.MessageStatus", "supportext/chat/v1/chat.proto"],
    ["supportext.chat.v1.MESSAGE_STATUS_COMPLETE", "supportext/chat/v1/chat.proto"],
    ["supportext.agent.v1.RunEvent", "supportext/agent/v1/agent.proto"],
    ["supportext.auth.v1.AuthService", "supportext/auth/v1/auth.proto"],
    ["grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"],
    ["grpc.health.v1.HealthCheckResponse.SERVING", "grpc/health/v1/health.proto"],
    ["google.protobuf.Timestamp", "google/protobuf/timestamp.proto"],
    ["grpc.reflection.v1.ServerReflection", "grpc/reflection/v1/reflection.proto"],
    ["grpc.reflection.v1alpha.ServerReflection", "grpc/reflection/v1alpha/reflection.proto"],
  ])("resolves symbol %s to %s", async (name, file) => {
    const [res] = await exchange(version, [symbol(name)]);
    expect(fileNames(res)[0]).toBe(file);
  });

  it("answers unknown lookups with error_response NOT_FOUND and keeps the stream open", async () => {
    const responses = await exchange(version, [
      symbol("supportext.chat.v1.Nope"),
      { messageRequest: { case: "fileByFilename", value: "nope.proto" } },
      {
        messageRequest: {
          case: "fileContainingExtension",
          value: { containingType: "supportext.chat.v1.Thread", extensionNumber: 100 },
        },
      },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "supportext.chat.v1.Nope" } },
      { messageRequest: { case: "listServices", value: "" } },
    ]);
    expect(responses.map((r) => r.messageResponse.case)).toEqual([
      "errorResponse",
      "errorResponse",
      "errorResponse",
      "errorResponse",
      "listServicesResponse",
    ]);
    for (const r of responses.slice(0, 4)) {
      expect(r.messageResponse.case === "errorResponse" && r.messageResponse.value.errorCode).toBe(5);
    }
  });

  it("echoes the request and host, answers file_by_filename and extension numbers", async () => {
    const [byName, numbers] = await exchange(version, [
      {
        host: "localhost",
        messageRequest: { case: "fileByFilename", value: "google/protobuf/timestamp.proto" },
      },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "supportext.chat.v1.Thread" } },
    ]);
    expect(byName?.validHost).toBe("localhost");
    expect(byName?.originalRequest?.messageRequest).toEqual({
      case: "fileByFilename",
      value: "google/protobuf/timestamp.proto",
    });
    expect(fileNames(byName)).toEqual(["google/protobuf/timestamp.proto"]);
    expect(numbers?.messageResponse).toMatchObject({
      case: "allExtensionNumbersResponse",
      value: { baseTypeName: "supportext.chat.v1.Thread", extensionNumber: [] },
    });
  });

  it("sends each dependency once per stream, but always the requested file", async () => {
    const [first, second, third] = await exchange(version, [
      symbol("supportext.chat.v1.ChatService"),
      symbol("supportext.chat.v1.Thread"),
      symbol("google.protobuf.Timestamp"),
    ]);
    expect(fileNames(first).length).toBeGreaterThan(2);
    expect(fileNames(second)).toEqual(["supportext/chat/v1/chat.proto"]);
    expect(fileNames(third)).toEqual(["google/protobuf/timestamp.proto"]);
  });
});

describe("buf curl over a real h2c server", () => {
  let server: http2.Http2Server;
  let base = "";
  const run = promisify(execFile);
  // The pinned buf from devDependencies, run directly (no npx lookup) so the test is quick and offline.
  const bufBin = fileURLToPath(new URL("../../../node_modules/.bin/buf", import.meta.url));
  const buf = (...args: string[]) =>
    run(bufBin, ["curl", "--http2-prior-knowledge", ...args], { timeout: 60_000, env: childEnv() }).then(
      (r) => r.stdout,
    );

  beforeAll(async () => {
    server = http2.createServer(connectNodeAdapter({ routes }));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("lists our services and methods via reflection", async () => {
    const services = (await buf("--list-services", base)).split("\n");
    expect(services).toEqual(
      expect.arrayContaining(["supportext.auth.v1.AuthService", "supportext.chat.v1.ChatService"]),
    );
    const methods = await buf("--list-methods", base);
    expect(methods).toContain("supportext.chat.v1.ChatService/StreamMessage");
  });

  it("describes services over grpc-v1alpha too", async () => {
    const out = await buf("--reflect-protocol", "grpc-v1alpha", "--list-methods", `${base}`);
    expect(out).toContain("supportext.auth.v1.AuthService/");
  });

  it("calls Health/Check using reflection for the schema", async () => {
    const out = await buf("--protocol", "grpc", "-d", "{}", `${base}/grpc.health.v1.Health/Check`);
    expect(JSON.parse(out)).toEqual({ status: "SERVING" });
  });
});
