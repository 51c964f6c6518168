import * as http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * For .ci/conformance: the conformance suite's server scenarios have no header option, so this
 * loopback proxy adds `Authorization: Bearer $CONFORMANCE_TOKEN` to every request for the MCP
 * server at $TARGET (an origin). Host and Origin naming the proxy itself are rewritten to the MCP
 * server's, so its DNS-rebinding guard sees what a direct client sends; any other Host or Origin
 * passes unchanged, so the dns-rebinding-protection scenario still meets the real guard.
 * The token, issued by the identity service (login-token.ts), comes from the environment (never
 * argv, never printed). Prints "listening <port>".
 */
const target = new URL(process.env.TARGET ?? "");
const token = process.env.CONFORMANCE_TOKEN ?? "";
if (!token || !target.host) {
  process.stderr.write("bearer-proxy: TARGET and CONFORMANCE_TOKEN are required\n");
  process.exit(2);
}

const server = http.createServer((req, res) => {
  const self = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const headers = { ...req.headers, authorization: `Bearer ${token}` };
  if (headers.host === self) headers.host = target.host;
  if (headers.origin === `http://${self}`) headers.origin = target.origin;
  const upstream = http.request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on("error", () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  res.on("close", () => upstream.destroy());
  req.pipe(upstream);
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
for (const signal of ["SIGTERM", "SIGINT"] as const)
  process.on(signal, () => server.close(() => process.exit(0)));
