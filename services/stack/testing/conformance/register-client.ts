import { register } from "#services/identity/oauth/testing/oauth-client-calls.js";

/**
 * For .ci/conformance: registers a public MCP client (RFC 7591) at the identity service, $ISSUER,
 * with redirect URI $REDIRECT_URI and prints its client_id.
 */
const issuer = process.env.ISSUER ?? "";
const redirectUri = process.env.REDIRECT_URI ?? "";
const res = await register(issuer, {
  redirect_uris: [redirectUri],
  token_endpoint_auth_method: "none",
  client_name: "conformance",
});
if (res.status !== 201) {
  process.stderr.write(`registration refused: ${JSON.stringify(res.body)}\n`);
  process.exit(1);
}
process.stdout.write(`${String(res.body.client_id)}\n`);
