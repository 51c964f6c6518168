import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";

/**
 * Streamed request messages are parsed while the implementation reads them, inside the
 * interceptors: the same correction there, before any interceptor logs the failure as internal.
 */
export const malformedStreamMessages: Interceptor = (next) => async (req) =>
  req.stream ? next({ ...req, message: parsedOrInvalid(req.message) }) : next(req);

async function* parsedOrInvalid<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    if (
      err instanceof ConnectError &&
      err.code === Code.Internal &&
      err.rawMessage.startsWith(PARSE_BINARY)
    ) {
      throw new ConnectError(malformed(err.rawMessage), Code.InvalidArgument);
    }
    throw err;
  }
}

/**
 * connect-es answers a request message that is not valid protobuf binary (a bad tag, a string
 * that is not UTF-8) with `internal` "parse binary: …" — on the Connect protocol an HTTP 500 —
 * although the caller sent it: it is `invalid_argument` (docs/architecture.md, "One port, three
 * protocols"). It decides before any interceptor runs, so its answer is corrected here, for each
 * protocol's way of carrying the status: the Connect unary JSON error, the gRPC trailers, the
 * gRPC-web trailer frame. Likewise a Connect request compressed with an unknown coding is answered
 * 415, not 501. Any other answer passes untouched.
 */
export function malformedMessageIsInvalidArgument(handler: UniversalHandler): UniversalHandler {
  // Streamed requests are parsed inside the interceptors (malformedStreamMessages above).
  if (handler.method.methodKind !== "unary") return handler;
  const wrapped = async (req: Parameters<UniversalHandler>[0]): Promise<UniversalServerResponse> => {
    const res = await handler(req);
    if (res.status === 500 || res.status === 501) return connectUnary(res);
    // The message is parsed before the handler answers, so its gRPC status is final here.
    if (res.trailer) {
      fixGrpcTrailer(res.trailer);
      return res;
    }
    const grpcWeb = res.header?.get("content-type")?.startsWith("application/grpc-web") === true;
    return grpcWeb && res.body ? { ...res, body: grpcWebTrailer(res.body) } : res;
  };
  return Object.assign(wrapped, {
    protocolNames: handler.protocolNames,
    allowedMethods: handler.allowedMethods,
    supportedContentType: handler.supportedContentType,
    requestPath: handler.requestPath,
    service: handler.service,
    method: handler.method,
  });
}

const PARSE_BINARY = "parse binary: ";
const UNKNOWN_COMPRESSION = "unknown compression ";
const INTERNAL = "13";
const INVALID_ARGUMENT = "3";

async function connectUnary(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  if (
    !res.body ||
    res.header?.get("content-encoding") ||
    !res.header?.get("content-type")?.startsWith("application/json")
  )
    return res;
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const answer = (body: Uint8Array, status: number): UniversalServerResponse => {
    res.header?.set("content-length", String(body.byteLength));
    return { ...res, status, body: single(body) };
  };
  let error: { code?: unknown; message?: unknown };
  try {
    error = JSON.parse(bytes.toString("utf8")) as typeof error;
  } catch {
    return answer(bytes, res.status);
  }
  if (typeof error.message !== "string") return answer(bytes, res.status);
  if (error.code === "internal" && error.message.startsWith(PARSE_BINARY)) {
    return answer(
      Buffer.from(JSON.stringify({ code: "invalid_argument", message: malformed(error.message) })),
      400,
    );
  }
  // A request compressed with a coding we don't take: the Connect code stays `unimplemented`
  // (what Connect clients read), the HTTP status is RFC 9110 §15.5.16's 415, not a server error.
  if (error.code === "unimplemented" && error.message.startsWith(UNKNOWN_COMPRESSION))
    return answer(bytes, 415);
  return answer(bytes, res.status);
}

function fixGrpcTrailer(trailer: Headers): void {
  const message = decodeGrpcMessage(trailer.get("grpc-message"));
  if (trailer.get("grpc-status") !== INTERNAL || !message.startsWith(PARSE_BINARY)) return;
  trailer.set("grpc-status", INVALID_ARGUMENT);
  trailer.set("grpc-message", encodeURIComponent(malformed(message)));
}

async function* grpcWebTrailer(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const chunk of body) {
    // An uncompressed trailer frame: flags byte, 4-byte length, CRLF-separated header fields.
    if (chunk[0] !== trailerFlag || chunk.byteLength < 5) {
      yield chunk;
      continue;
    }
    const trailer = trailerParse(chunk.subarray(5));
    const before = trailer.get("grpc-status");
    fixGrpcTrailer(trailer);
    if (trailer.get("grpc-status") === before) {
      yield chunk;
      continue;
    }
    const data = trailerSerialize(trailer);
    const frame = new Uint8Array(5 + data.byteLength);
    frame[0] = trailerFlag;
    new DataView(frame.buffer).setUint32(1, data.byteLength);
    frame.set(data, 5);
    yield frame;
  }
}

async function* single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

function decodeGrpcMessage(value: string | null): string {
  try {
    return decodeURIComponent(value ?? "");
  } catch {
    return "";
  }
}

const malformed = (message: string) => `malformed request message: ${message.slice(PARSE_BINARY.length)}`;
