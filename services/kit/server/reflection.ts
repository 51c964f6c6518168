/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) for connect-es v2.
 *
 * Why in-house: connect-es has no official reflection package (connect-es#507 is open) and the npm
 * candidates are missing or target protobuf-es v1. Tools such as `buf curl` and grpcurl need
 * reflection to call us without a local schema; buf tries v1 first and falls back to v1alpha, older
 * grpcurl builds only speak v1alpha, so both are served from one implementation.
 *
 * Behaviour follows grpc-go's `reflection` package: lookup failures are answered in-band with an
 * `error_response` (code NOT_FOUND) and the stream stays open; file answers carry the requested file
 * plus every transitive dependency not yet sent on this stream.
 */

import type { DescExtension, DescFile, DescMessage, DescService } from "@bufbuild/protobuf";
import { create, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import * as v1 from "#gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "#gen/grpc/reflection/v1alpha/reflection_pb.js";

/** The request shape shared by v1 and v1alpha (identical fields, different type names). */
type ReflectionRequest = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

/** The `message_response` oneof, version-neutral so one implementation answers both services. */
type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/** Everything reflection needs, computed once at registration so each request is a map lookup. */
interface ReflectionIndex {
  /** Sorted, de-duplicated fully-qualified service names for `list_services`. */
  readonly serviceNames: readonly string[];
  /** Files by their proto path (e.g. "supportext/chat/v1/chat.proto"). */
  readonly files: ReadonlyMap<string, DescFile>;
  /** Fully-qualified symbol (service, method, message, field, oneof, enum, value, extension) → file. */
  readonly symbols: ReadonlyMap<string, DescFile>;
  /** Messages by type name, for the extension queries. */
  readonly messages: ReadonlyMap<string, DescMessage>;
  /** All extensions declared in the indexed files. */
  readonly extensions: readonly DescExtension[];
  /** Serialized FileDescriptorProto per file, encoded once. */
  readonly encoded: ReadonlyMap<DescFile, Uint8Array>;
}

/**
 * Registers `grpc.reflection.v1.ServerReflection` and `grpc.reflection.v1alpha.ServerReflection` on
 * `router`, describing `services` (pass grpc.health.v1.Health too if it is served) and the reflection
 * services themselves.
 */
export function registerReflection(router: ConnectRouter, services: readonly DescService[]): void {
  const index = buildIndex([...services, v1.ServerReflection, v1alpha.ServerReflection]);
  router.service(v1.ServerReflection, {
    async *serverReflectionInfo(requests) {
      const sent = new Set<DescFile>();
      for await (const req of requests) {
        const messageResponse = answer(index, req, sent);
        yield create(v1.ServerReflectionResponseSchema, {
          validHost: req.host,
          originalRequest: req,
          messageResponse,
        });
      }
    },
  });
  router.service(v1alpha.ServerReflection, {
    async *serverReflectionInfo(requests) {
      const sent = new Set<DescFile>();
      for await (const req of requests) {
        const messageResponse = answer(index, req, sent);
        yield create(v1alpha.ServerReflectionResponseSchema, {
          validHost: req.host,
          originalRequest: req,
          messageResponse,
        });
      }
    },
  });
}

/** Answers one request; `sent` tracks the files already delivered on this stream. */
function answer(index: ReflectionIndex, req: ReflectionRequest, sent: Set<DescFile>): Answer {
  const m = req.messageRequest;
  switch (m.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: { service: index.serviceNames.map((name) => ({ name })) },
      };
    case "fileByFilename":
      return fileAnswer(index, index.files.get(m.value), sent, `file not found: ${m.value}`);
    case "fileContainingSymbol":
      return fileAnswer(index, index.symbols.get(m.value), sent, `symbol not found: ${m.value}`);
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = m.value;
      const ext = index.extensions.find(
        (e) => e.extendee.typeName === containingType && e.number === extensionNumber,
      );
      return fileAnswer(index, ext?.file, sent, `extension not found: ${containingType}(${extensionNumber})`);
    }
    case "allExtensionNumbersOfType": {
      // grpc-go: unknown (or non-message) type → NOT_FOUND; known message → possibly empty list.
      if (!index.messages.has(m.value)) return notFound(`type not found: ${m.value}`);
      const extensionNumber = index.extensions
        .filter((e) => e.extendee.typeName === m.value)
        .map((e) => e.number)
        .sort((a, b) => a - b);
      return { case: "allExtensionNumbersResponse", value: { baseTypeName: m.value, extensionNumber } };
    }
    default:
      // Same as grpc-go: a request without a recognised message_request is a protocol error.
      throw new ConnectError("invalid message_request", Code.InvalidArgument);
  }
}

/**
 * The requested file first (always, even if sent before, as grpc-go does), then its transitive
 * dependencies that this stream has not seen yet, so clients can build a complete descriptor pool.
 */
function fileAnswer(
  index: ReflectionIndex,
  file: DescFile | undefined,
  sent: Set<DescFile>,
  missing: string,
): Answer {
  if (!file) return notFound(missing);
  const out: Uint8Array[] = [];
  for (const f of closure([file])) {
    if (f !== file && sent.has(f)) continue;
    sent.add(f);
    const bytes = index.encoded.get(f);
    if (bytes) out.push(bytes);
  }
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto: out } };
}

function notFound(errorMessage: string): Answer {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage } };
}

/** Breadth-first transitive closure over imports, roots first, each file once. */
function closure(roots: readonly DescFile[]): DescFile[] {
  const seen = new Set<DescFile>(roots);
  const order = [...roots];
  for (let i = 0; i < order.length; i++) {
    for (const dep of order[i]?.dependencies ?? []) {
      if (!seen.has(dep)) {
        seen.add(dep);
        order.push(dep);
      }
    }
  }
  return order;
}

function buildIndex(services: readonly DescService[]): ReflectionIndex {
  const files = new Map<string, DescFile>();
  const symbols = new Map<string, DescFile>();
  const messages = new Map<string, DescMessage>();
  const extensions: DescExtension[] = [];
  const encoded = new Map<DescFile, Uint8Array>();
  // First registration wins: a valid descriptor set has no duplicates, and this keeps lookups stable.
  const add = (name: string, file: DescFile) => {
    if (!symbols.has(name)) symbols.set(name, file);
  };

  const addMessage = (msg: DescMessage, file: DescFile) => {
    add(msg.typeName, file);
    messages.set(msg.typeName, msg);
    for (const f of msg.fields) add(`${msg.typeName}.${f.name}`, file);
    for (const o of msg.oneofs) add(`${msg.typeName}.${o.name}`, file);
    for (const e of msg.nestedEnums) {
      add(e.typeName, file);
      // Enum values are scoped like siblings of their enum (protobuf scoping rules).
      for (const v of e.values) add(`${msg.typeName}.${v.name}`, file);
    }
    for (const x of msg.nestedExtensions) addExtension(x, file);
    for (const n of msg.nestedMessages) addMessage(n, file);
  };
  const addExtension = (x: DescExtension, file: DescFile) => {
    add(x.typeName, file);
    extensions.push(x);
  };

  for (const file of closure(unique(services.map((s) => s.file)))) {
    files.set(file.proto.name, file);
    encoded.set(file, toBinary(FileDescriptorProtoSchema, file.proto));
    const pkg = file.proto.package;
    for (const svc of file.services) {
      add(svc.typeName, file);
      for (const m of svc.methods) add(`${svc.typeName}.${m.name}`, file);
    }
    for (const e of file.enums) {
      add(e.typeName, file);
      for (const v of e.values) add(pkg ? `${pkg}.${v.name}` : v.name, file);
    }
    for (const x of file.extensions) addExtension(x, file);
    for (const msg of file.messages) addMessage(msg, file);
  }

  const serviceNames = unique(services.map((s) => s.typeName)).sort();
  return { serviceNames, files, symbols, messages, extensions, encoded };
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
