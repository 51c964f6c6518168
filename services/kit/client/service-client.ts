import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import type { ServiceCredentials } from "../auth/service-identity.js";
import { createPropagationInterceptor } from "../propagation/client-interceptor.js";
import { createServiceCredentialInterceptor } from "../propagation/service-credential-interceptor.js";
import { createRefusedStreamInterceptor } from "./refused-stream.js";

export interface ServiceClientOptions {
  /** "connect" (default) or "grpc"; both over h2c with prior knowledge. */
  readonly protocol?: "connect" | "grpc";
  /** Deadline applied to calls that don't set their own. */
  readonly defaultTimeoutMs?: number;
  /** Extra interceptors, run before propagation sets the headers. */
  readonly interceptors?: readonly Interceptor[];
  /**
   * This service's own credentials and the id of the service called: every call then carries a
   * service token for it (docs/architecture.md, "The delegation chain"). Internal calls need it.
   */
  readonly credentials?: { readonly source: ServiceCredentials; readonly audience: string };
}

/**
 * A client for another of our services. Every client carries the propagation interceptor, so a
 * handler's outgoing calls act as its caller without anyone passing the token by hand.
 * HTTP/2 (h2c) multiplexes concurrent calls over one connection per target.
 */
export function createServiceClient<S extends DescService>(
  service: S,
  baseUrl: string,
  options: ServiceClientOptions = {},
): Client<S> {
  const transportOptions = {
    baseUrl,
    httpVersion: "2" as const,
    interceptors: [
      createRefusedStreamInterceptor(),
      ...(options.interceptors ?? []),
      ...(options.credentials
        ? [createServiceCredentialInterceptor(options.credentials.source, options.credentials.audience)]
        : []),
      createPropagationInterceptor(),
    ],
    defaultTimeoutMs: options.defaultTimeoutMs ?? 30_000,
    // Service-to-service traffic stays on loopback or a LAN: compressing it costs more than it saves.
    acceptCompression: [],
    pingIntervalMs: 30_000,
    idleConnectionTimeoutMs: 300_000,
  };
  const transport =
    options.protocol === "grpc"
      ? createGrpcTransport(transportOptions)
      : createConnectTransport({ ...transportOptions, useBinaryFormat: true });
  return createClient(service, transport);
}
