import type * as http from "node:http";
import type { DescService } from "@bufbuild/protobuf";
import { type ConnectRouter, createContextValues, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createCleanRpcInput } from "../input/clean-rpc-input.js";
import type { TextRule } from "../input/clean-text.js";
import type { Logger } from "../log/logger.js";
import { kPeerAddress } from "../propagation/context-keys.js";
import {
  type AuthInterceptorOptions,
  createAuthGate,
  createAuthInterceptor,
  createCallContextInterceptor,
} from "../propagation/server-interceptors.js";
import { type HealthService, ServingStatus } from "./health.js";
import type { HttpRequest, HttpResponse, HttpRouteHandler } from "./http-routes.js";
import { malformedMessageIsInvalidArgument, malformedStreamMessages } from "./malformed-message.js";
import { registerReflection } from "./reflection.js";

/**
 * Default bound of a request message: what a person types, with room to spare. A service whose
 * requests carry more (the agent's conversation history, the gateway's tool arguments) says so.
 * Anyone may send a message up to this bound to a public procedure, and it is decoded.
 */
const MAX_REQUEST_BYTES = 64 * 1024;
/** Default bound of a response message. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export interface ConnectHandlerOptions {
  readonly logger: Logger;
  readonly routes: (router: ConnectRouter) => void;
  readonly auth: Omit<AuthInterceptorOptions, "logger">;
  readonly textRule?: TextRule;
  readonly interceptors?: readonly Interceptor[];
  readonly readMaxBytes?: number;
  readonly writeMaxBytes?: number;
  readonly notFound?: HttpRouteHandler;
}

/**
 * The service's Connect, gRPC and gRPC-Web procedures, with grpc.health.v1 fed by `health`,
 * reflection over all of them, malformed messages answered `invalid_argument`, and the kit's
 * interceptors outermost: call context, authentication, the input-text rule.
 */
export function createConnectHandler(
  options: ConnectHandlerOptions,
  health: HealthService,
): (req: HttpRequest, res: HttpResponse) => void {
  const handler = connectNodeAdapter({
    routes: (router) => registerAll(router, options.routes, health),
    interceptors: [
      malformedStreamMessages,
      createCallContextInterceptor(options.logger),
      createAuthInterceptor(options.logger),
      // After authentication: an anonymous caller learns nothing about the message's checks.
      createCleanRpcInput(options.textRule),
      ...(options.interceptors ?? []),
    ],
    // Credentials are checked before a request body is read (docs/architecture.md, "Identity propagation").
    requestGate: createAuthGate({ ...options.auth, logger: options.logger }),
    // No compressed requests: a few kilobytes of gzip could make any caller, before it is
    // authenticated, have a service inflate and decode megabytes; no client of ours compresses.
    acceptCompression: [],
    contextValues: (req) => createContextValues().set(kPeerAddress, req.socket?.remoteAddress),
    readMaxBytes: options.readMaxBytes ?? MAX_REQUEST_BYTES,
    writeMaxBytes: options.writeMaxBytes ?? MAX_RESPONSE_BYTES,
    fallback: (req, res) => void (options.notFound ?? notFound)(req, res as HttpResponse),
  });
  return (req, res) => handler(req as http.IncomingMessage, res as http.ServerResponse);
}

function registerAll(router: ConnectRouter, routes: (router: ConnectRouter) => void, health: HealthService) {
  routes(router);
  for (const s of uniqueServices(router)) health.setStatus(s.typeName, ServingStatus.SERVING);
  health.register(router);
  // Reflection describes what it is given: every service on this port, health included.
  registerReflection(router, uniqueServices(router));
  router.handlers.forEach((handler, i) => {
    router.handlers[i] = malformedMessageIsInvalidArgument(handler);
  });
}

function notFound(_req: HttpRequest, res: HttpResponse): void {
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found\n");
}

function uniqueServices(router: ConnectRouter): DescService[] {
  const seen = new Map<string, DescService>();
  for (const h of router.handlers) seen.set(h.service.typeName, h.service);
  return [...seen.values()];
}
