import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { CHROMIUM_PATH, chromiumPresent, launchChromium } from "#kit/testing/chromium.js";
import { signIn } from "#services/identity/oauth/testing/login-page-driver.js";

/**
 * For .ci/conformance: runs the conformance command given as arguments and is the user's browser
 * for it. The authorization-code-grant scenario prints an authorization URL and waits for the
 * redirect to its callback: this opens the URL in headless Chromium (the identity service's login
 * page, at $ISSUER/oauth2/authorize), types $LOGIN_EMAIL / $LOGIN_PASSWORD into the form, clicks
 * "Sign in and allow" and lets the browser follow the redirect to the suite's callback.
 * Exits with the command's code.
 */
const [command, ...args] = process.argv.slice(2);
const issuer = process.env.ISSUER ?? "";
const authorizePrefix = `${issuer}/oauth2/authorize?`;
if (!chromiumPresent()) {
  process.stderr.write(`browser: no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium)\n`);
  process.exit(1);
}

async function logInWithChromium(authorizeUrl: string): Promise<string> {
  const redirectUri = new URL(authorizeUrl).searchParams.get("redirect_uri") ?? "";
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    await page.goto(authorizeUrl);
    await signIn(page, { email: process.env.LOGIN_EMAIL ?? "", password: process.env.LOGIN_PASSWORD ?? "" });
    // Left the login page: either the callback, or the page again with why (wrong password, refusal).
    await page
      .waitForURL((url) => url.origin !== new URL(issuer).origin, { timeout: 60_000 })
      .catch(async () => {
        const why = (await page.locator(".msg").allTextContents()).join(" ") || page.url();
        throw new Error(`the login page did not redirect: ${why}`);
      });
    const landed = new URL(page.url());
    // The page is the suite's callback; only its address is shown (the code stays in the URL).
    if (`${landed.origin}${landed.pathname}` !== redirectUri)
      throw new Error(`redirected elsewhere: ${landed.origin}${landed.pathname}`);
    return redirectUri;
  } finally {
    await browser.close();
  }
}

const child = spawn(command ?? "false", args, { stdio: ["ignore", "pipe", "inherit"] });
let driving: Promise<unknown> | undefined;
createInterface({ input: child.stdout }).on("line", (line) => {
  process.stdout.write(`${line}\n`);
  const url = line.trim();
  if (driving || !url.startsWith(authorizePrefix)) return;
  driving = logInWithChromium(url)
    .then((callback) =>
      process.stderr.write(`browser: Chromium signed in and followed the redirect to ${callback}\n`),
    )
    .catch((err: unknown) => {
      process.stderr.write(`browser: ${err instanceof Error ? err.message : String(err)}\n`);
      // Nobody will reach the suite's callback: don't leave it waiting out its five minutes.
      child.kill("SIGTERM");
    });
});
// The browser's profile is removed on close: let it finish before leaving.
child.on("exit", (code) => void Promise.resolve(driving).finally(() => process.exit(code ?? 1)));
