/** One balanced service: where clients reach it, and its replicas. */
export interface BalancedService {
  readonly name: string;
  readonly frontendPort: number;
  readonly serverPorts: readonly number[];
  /** Whether the replicas speak HTTP/2 without TLS (h2c); else HTTP/1.1 to them. */
  readonly h2c: boolean;
}

/**
 * HAProxy's configuration for the replica stack (docs/architecture.md, "Replicas"): per service a
 * loopback frontend (HTTP/1.1, and HTTP/2 with prior knowledge, detected by HAProxy) and a backend
 * balancing each request round-robin over the replicas, in HTTP/2 where they speak it (gRPC needs
 * its trailers; the MCP server speaks HTTP/1.1 only). A
 * replica is taken out after three failed `/healthz` checks 500 ms apart, each given 3 s to answer
 * (HTTP/1.1, with the Host clients use: the MCP server answers only its own hosts): on a busy
 * 2-core machine a check of a live replica can take longer than the 500 ms HAProxy otherwise allows,
 * and both replicas of a service were once taken out at once (chat's call to the agent registry
 * answered 503). A killed replica needs no check to be avoided: a request whose connection is
 * refused is dispatched again to the other replica. Streams (the revocation feed, a streamed
 * turn) may stay open for the whole run.
 */
export function haproxyConfig(services: readonly BalancedService[], statsPort: number): string {
  const blocks = services.map(
    (s) => `
frontend ${s.name}
  bind 127.0.0.1:${s.frontendPort}
  default_backend ${s.name}

backend ${s.name}
  balance roundrobin
  option httpchk
  http-check send meth GET uri /healthz ver HTTP/1.1 hdr host 127.0.0.1:${s.frontendPort}
  http-check expect status 200
  timeout check 3s
${s.serverPorts
  .map(
    (port, i) =>
      `  server ${String.fromCharCode(97 + i)} 127.0.0.1:${port}${s.h2c ? " proto h2" : ""} check inter 500 fall 3 rise 1`,
  )
  .join("\n")}`,
  );
  return `global
  maxconn 4096
  log stderr format raw local0 notice

defaults
  mode http
  log global
  option redispatch
  retries 3
  timeout connect 2s
  timeout client 10m
  timeout server 10m
  timeout tunnel 10m
  timeout http-keep-alive 30s

# Which replicas HAProxy counts as up (CSV at /stats;csv), for the harness to wait on.
listen stats
  bind 127.0.0.1:${statsPort}
  stats enable
  stats uri /stats
${blocks.join("\n")}
`;
}
