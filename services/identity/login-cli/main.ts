import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { ConfigError } from "#kit/config/index.js";
import { explainFailure } from "./explain-failure.js";
import { LOGIN_HELP, type LoginOptions, LoginUsageError, loginOptions } from "./login-options.js";

/**
 * `npm run login [-- --email E --password P --url URL]`: logs in through AuthService.Login and
 * prints `export TOKEN=…` on stdout (so `eval "$(npm run -s login)"` sets it), who logged in on
 * stderr. Any failure is one line on stderr naming the cause and the fix, exit code 1 (2 for
 * usage); never a stack (README, "Send your first message").
 */
const CALL_TIMEOUT_MS = 15_000;

let options: LoginOptions | "help" | undefined;
try {
  options = loginOptions(process.argv.slice(2), process.env);
  if (options === "help") {
    process.stdout.write(`${LOGIN_HELP}\n`);
  } else {
    const auth = createClient(
      AuthService,
      createConnectTransport({ baseUrl: options.url, httpVersion: "1.1" }),
    );
    const res = await auth.login(
      { email: options.email, password: options.password },
      { timeoutMs: CALL_TIMEOUT_MS },
    );
    // A JWT is base64url and dots: nothing in it needs shell quoting.
    process.stdout.write(`export TOKEN=${res.tokens?.accessToken ?? ""}\n`);
    const minutes = Math.round((res.tokens?.expiresIn ?? 0) / 60);
    process.stderr.write(
      `logged in as ${res.user?.email} (${res.user?.roles.join(", ")}), token valid ${minutes} min; eval "$(npm run -s login)" sets $TOKEN in your shell\n`,
    );
  }
} catch (err) {
  const target = typeof options === "object" ? options : { url: "the identity service", email: "" };
  process.stderr.write(`${explainFailure(err, target)}\n`);
  process.exitCode = err instanceof LoginUsageError || err instanceof ConfigError ? 2 : 1;
}
