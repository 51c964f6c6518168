import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { loginThroughPage } from "../testing/login-browser.js";

/**
 * For .ci/conformance: runs the conformance command given as arguments and plays the user's
 * browser for it. The authorization-code-grant scenario prints an authorization URL and waits for
 * the redirect to its callback: this opens the URL (the identity service's login page, at
 * $ISSUER/oauth2/authorize), posts the login form as $LOGIN_EMAIL / $LOGIN_PASSWORD and follows
 * the redirect to the callback. Exits with the command's code.
 */
const [command, ...args] = process.argv.slice(2);
const authorizePrefix = `${process.env.ISSUER ?? ""}/oauth2/authorize?`;
const child = spawn(command ?? "false", args, { stdio: ["ignore", "pipe", "inherit"] });
let drove = false;
createInterface({ input: child.stdout }).on("line", (line) => {
  process.stdout.write(`${line}\n`);
  const url = line.trim();
  if (drove || !url.startsWith(authorizePrefix)) return;
  drove = true;
  loginThroughPage(url, { email: process.env.LOGIN_EMAIL ?? "", password: process.env.LOGIN_PASSWORD ?? "" })
    .then((callback) => fetch(callback))
    .catch((err: unknown) => process.stderr.write(`browser: ${err instanceof Error ? err.message : String(err)}\n`));
});
child.on("exit", (code) => process.exit(code ?? 1));
