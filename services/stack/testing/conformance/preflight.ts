/**
 * For .ci/conformance: one `initialize` through the bearer proxy at $URL before the suite runs, so
 * that a stack refusing the token (or a proxy that is not ours on that port) is reported once, with
 * its status, `WWW-Authenticate` and body, instead of as every scenario's first check failing
 * without a cause. Exits 1 on anything but 200; prints nothing secret (the token is the proxy's).
 */
const url = process.env.URL ?? "";
const answer = await fetch(url, {
  method: "POST",
  headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
  body: JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "conformance-preflight", version: "1.0.0" },
    },
  }),
  signal: AbortSignal.timeout(60_000),
}).catch((error: unknown) => error as Error);
if (answer instanceof Error) {
  process.stderr.write(`preflight: initialize through the proxy failed: ${answer.message}\n`);
  process.exit(1);
}
const body = (await answer.text()).slice(0, 500);
const session = answer.headers.get("mcp-session-id");
if (session) {
  // Ended at once: the scenarios open their own sessions.
  await fetch(url, { method: "DELETE", headers: { "mcp-session-id": session } }).catch(() => {});
}
if (answer.status !== 200) {
  const challenge = answer.headers.get("www-authenticate") ?? "(none)";
  process.stderr.write(
    `preflight: initialize through the proxy answered ${answer.status}; WWW-Authenticate: ${challenge}; body: ${body}\n`,
  );
  process.exit(1);
}
process.stdout.write(`preflight: initialize through the proxy answered 200\n`);
