import { fullCodeFlow } from "#services/identity/oauth/testing/oauth-client-calls.js";

/**
 * For .ci/conformance: an MCP access token from the identity service at $ISSUER (the
 * authorization server, docs/identity.md) with no manual step — registration, the login page
 * posted as $LOGIN_EMAIL / $LOGIN_PASSWORD, the code redeemed for $RESOURCE — printed on stdout
 * (the caller keeps it in a variable; it is never logged).
 */
const issuer = process.env.ISSUER ?? "";
const flow = await fullCodeFlow(
  issuer,
  { email: process.env.LOGIN_EMAIL ?? "", password: process.env.LOGIN_PASSWORD ?? "" },
  { resource: process.env.RESOURCE ?? "" },
);
if (flow.token.status !== 200) {
  process.stderr.write(
    `token refused: ${String(flow.token.body.error)}: ${String(flow.token.body.error_description)}\n`,
  );
  process.exit(1);
}
process.stdout.write(`${String(flow.token.body.access_token)}\n`);
