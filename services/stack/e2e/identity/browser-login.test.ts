import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from "@modelcontextprotocol/client";
import * as jose from "jose";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLE_SCOPES, type Role, TOOL_NAMES, TOOL_SCOPES } from "#kit/contract/index.js";
import {
  type Browser,
  CHROMIUM_PATH,
  chromiumPresent,
  launchChromium,
  noChromiumMessage,
} from "#kit/testing/chromium.js";
import { type SelfSigned, selfSignedLoopbackCertificate } from "#kit/testing/self-signed.js";
import { BrowserOAuthProvider } from "#services/identity/oauth/testing/browser-provider.js";
import { pkcePair } from "#services/identity/oauth/testing/login-browser.js";
import { deny, signIn } from "#services/identity/oauth/testing/login-page-driver.js";
import {
  type LoopbackCallback,
  startLoopbackCallback,
} from "#services/identity/oauth/testing/loopback-callback.js";
import { authorizeUrl, register } from "#services/identity/oauth/testing/oauth-client-calls.js";
import { type OAuthStack, startOAuthStack } from "../../testing/oauth-stack.js";

/**
 * The login page as a person meets it (docs/identity.md, "OAuth 2.1 authorization server for MCP
 * clients"): the SDK's own MCP client (`@modelcontextprotocol/client` 2.x) against the real MCP
 * server opens the authorization URL in headless Chromium; the test types into the form and clicks
 * its buttons, and the browser itself carries the provider's interaction cookies, the Origin and
 * the redirects to the client's loopback callback server.
 */
const present = chromiumPresent();
if (!present) console.warn(noChromiumMessage("the OAuth logins in Chromium"));

let stack: OAuthStack;
let browser: Browser;
let callback: LoopbackCallback;
let certificate: SelfSigned;

const toolsOf = (role: Role) =>
  TOOL_NAMES.filter((t) => (ROLE_SCOPES[role] as readonly string[]).includes(TOOL_SCOPES[t])).sort();
/** The provider sends the browser to its sign-in page: /oauth2/interaction/<uid>. */
const signInPrefix = () => `${stack.identity.url}/oauth2/interaction/`;
const atSignInPage = (page: Page) => page.url().startsWith(signInPrefix());

interface PostedForm {
  readonly origin: string | undefined;
  readonly url: string;
}

/** Every form post the browser sends to the sign-in page, with the headers it really sent. */
function recordFormPosts(page: Page): Promise<PostedForm>[] {
  const posts: Promise<PostedForm>[] = [];
  page.on("request", (request) => {
    if (request.method() !== "POST" || !request.url().startsWith(signInPrefix())) return;
    posts.push(request.allHeaders().then((headers) => ({ origin: headers.origin, url: request.url() })));
  });
  return posts;
}

/** `step`, or a rejection naming it once it has taken more than a minute (not the test's 180 s silence). */
function within<T>(step: string | (() => string), p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${typeof step === "string" ? step : step()} did not finish within 60 s`)),
      60_000,
    );
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function mcpClient(): Client {
  return new Client({ name: "browser-login-test", version: "1.0.0" });
}

describe.skipIf(!present)(
  `OAuth logins in headless Chromium${present ? "" : ` (skipped: no ${CHROMIUM_PATH})`}`,
  () => {
    // Two services with fresh databases and a browser: slow on a loaded machine.
    beforeAll(async () => {
      callback = await startLoopbackCallback();
      browser = await launchChromium();
      certificate = await selfSignedLoopbackCertificate();
      stack = await startOAuthStack({ metadataDocumentCa: certificate.cert });
    }, 240_000);
    afterAll(async () => {
      await browser?.close();
      await callback?.close();
      await stack?.close();
    }, 60_000);

    it("viewer: 401 → discovery → registration → the page in Chromium (a wrong password, then the right one) → callback → tools/list", async () => {
      const page = await browser.context.newPage();
      const posts = recordFormPosts(page);
      const provider = new BrowserOAuthProvider(callback.redirectUri, page);
      const transport = () =>
        new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: provider });

      const failed = await mcpClient()
        .connect(transport())
        .catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(UnauthorizedError);
      const clientId = provider.clientInformation()?.client_id ?? "";
      expect(clientId.length).toBeGreaterThan(20);
      expect(atSignInPage(page)).toBe(true);
      await expect(page.getByRole("heading", { name: "Sign in to support-ext" }).isVisible()).resolves.toBe(
        true,
      );
      expect(await page.textContent("body")).toContain(clientId);

      // A wrong password: the browser shows the page again, with the message and the email kept.
      const signInUrl = page.url();
      const rerendered = page.waitForResponse(
        (r) => r.request().method() === "POST" && r.url().startsWith(signInPrefix()),
      );
      await signIn(page, { email: "viewer@company.com", password: `${stack.passwords.viewer}-wrong` });
      expect((await rerendered).status()).toBe(401);
      await page.getByRole("alert").filter({ hasText: "Invalid email or password." }).waitFor();
      expect(page.url()).toBe(signInUrl);
      expect(await page.getByLabel("Email").inputValue()).toBe("viewer@company.com");

      // The right one: the browser is sent to the client's callback with the code.
      const landed = callback.next();
      await signIn(page, { email: "viewer@company.com", password: stack.passwords.viewer });
      const back = await landed;
      expect([back.get("state"), back.get("iss"), back.get("error")]).toEqual([
        provider.sentState,
        stack.identity.url,
        null,
      ]);
      expect(back.get("code")?.length).toBeGreaterThan(20);
      await page.getByText("You can close this window.").waitFor();
      expect(page.url().startsWith(`${callback.redirectUri}?`)).toBe(true);

      // What the browser really posted: twice to its own sign-in page, with that page's Origin.
      const posted = await Promise.all(posts);
      expect(posted).toEqual([
        { origin: stack.identity.url, url: signInUrl },
        { origin: stack.identity.url, url: signInUrl },
      ]);

      await transport().finishAuth(back);
      const client = mcpClient();
      await client.connect(transport());
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(toolsOf("viewer"));
      expect(jose.decodeJwt(provider.tokens()?.access_token ?? "")).toMatchObject({
        aud: stack.mcpUrl,
        email: "viewer@company.com",
        act: { sub: clientId },
      });
      await client.close();
      await page.close();
    }, 180_000);

    it("Deny in Chromium lands on the callback with error=access_denied and nothing to redeem", async () => {
      const page = await browser.context.newPage();
      const posts = recordFormPosts(page);
      const provider = new BrowserOAuthProvider(callback.redirectUri, page);
      const failed = await mcpClient()
        .connect(new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: provider }))
        .catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(UnauthorizedError);
      expect(atSignInPage(page)).toBe(true);

      const landed = callback.next();
      await deny(page);
      const back = await landed;
      expect([back.get("error"), back.get("state"), back.get("iss"), back.get("code")]).toEqual([
        "access_denied",
        provider.sentState,
        stack.identity.url,
        null,
      ]);
      await page.getByText("You can close this window.").waitFor();
      expect((await Promise.all(posts)).map((p) => p.origin)).toEqual([stack.identity.url]);
      expect(provider.tokens()).toBeUndefined();
      await page.close();
    }, 180_000);

    it("a self-registered client's request made to fail keeps Chromium on the issuer's page; only the person's click goes on, with the error (RFC 9700 §4.11.2)", async () => {
      const page = await browser.context.newPage();
      // The attacker's page: every request Chromium makes to it is recorded (and answered here).
      const offSite: string[] = [];
      await page.route("https://evil.example/**", (route) => {
        offSite.push(`${route.request().method()} ${route.request().url()}`);
        return route.fulfill({ status: 200, contentType: "text/html", body: "<p>elsewhere</p>" });
      });
      const redirectUri = "https://evil.example/cb";
      const registered = await register(stack.identity.url, {
        redirect_uris: [redirectUri],
        token_endpoint_auth_method: "none",
      });
      const clientId = registered.body.client_id as string;
      const failing = (extra: Record<string, string | undefined>) =>
        authorizeUrl(stack.identity.url, {
          clientId,
          redirectUri,
          challenge: pkcePair().challenge,
          state: "s-chromium",
          extra: { code_challenge: undefined, ...extra },
        });
      const stillHere = () => expect(new URL(page.url()).origin).toBe(stack.identity.url);

      // The library's auto-posting form (form_post) would have been sent by the browser itself.
      for (const extra of [{ response_mode: "form_post" }, { response_mode: "fragment" }, {}]) {
        const shown = await page.goto(failing(extra), { waitUntil: "load" });
        expect(shown?.status(), JSON.stringify(extra)).toBe(400);
        await page.getByRole("alert").filter({ hasText: "invalid_request" }).waitFor();
        stillHere();
      }
      // The resume path with no interaction behind it, the client and redirect URI in the link.
      const q = new URLSearchParams({ client_id: clientId, redirect_uri: redirectUri, state: "s-chromium" });
      const resumed = await page.goto(`${stack.identity.url}/oauth2/authorize/made-up?${q}`, {
        waitUntil: "load",
      });
      expect(resumed?.status()).toBe(400);
      stillHere();
      expect(offSite).toEqual([]);

      // The person decides: the link on the last authorization page takes the error there.
      await page.goto(failing({}), { waitUntil: "load" });
      await page.getByRole("link", { name: "return to it with this error" }).click();
      await page.waitForURL((url) => url.origin === "https://evil.example");
      const there = new URL(page.url());
      expect([there.pathname, there.searchParams.get("error"), there.searchParams.get("state")]).toEqual([
        "/cb",
        "invalid_request",
        "s-chromium",
      ]);
      expect(there.searchParams.get("code")).toBeNull();
      expect(offSite).toHaveLength(1);
      await page.close();
    }, 180_000);

    it("a sign-in throttled in Chromium: 429 with Retry-After, the wait in the page's message", async () => {
      const page = await browser.context.newPage();
      const registered = await register(stack.identity.url, {
        redirect_uris: [callback.redirectUri],
        token_endpoint_auth_method: "none",
      });
      await page.goto(
        authorizeUrl(stack.identity.url, {
          clientId: registered.body.client_id as string,
          redirectUri: callback.redirectUri,
          challenge: pkcePair().challenge,
        }),
      );
      expect(atSignInPage(page)).toBe(true);
      const answer = () =>
        page.waitForResponse((r) => r.request().method() === "POST" && r.url().startsWith(signInPrefix()));
      // An email nobody has, so no other test's account is throttled from this address.
      const guess = { email: "nobody-here@company.com", password: "not-it" };
      for (let i = 0; i < 5; i++) {
        const failed = answer();
        await signIn(page, guess);
        expect((await failed).status()).toBe(401);
      }
      const refused = answer();
      await signIn(page, guess);
      const response = await refused;
      expect(response.status()).toBe(429);
      const wait = Number(await response.headerValue("retry-after"));
      expect(wait).toBeGreaterThan(0);
      await page
        .getByRole("alert")
        .filter({ hasText: `Too many failed sign-in attempts; try again in ${wait} s.` })
        .waitFor();
      await page.close();
    }, 180_000);

    describe("a client identified by its Client ID Metadata Document", () => {
      let docs: Server;
      const fetched: string[] = [];
      let documentUrl: string;

      beforeAll(async () => {
        // Served over https on loopback: loopback is accepted outside production only, with the
        // test's own certificate (docs/identity.md, "Client ID Metadata Documents").
        docs = createServer({ key: certificate.key, cert: certificate.cert }, (req, res) => {
          fetched.push(req.url ?? "");
          if (req.url !== "/mcp-client.json") {
            res.writeHead(404).end();
            return;
          }
          res.writeHead(200, { "content-type": "application/json" });
          res.end(
            JSON.stringify({
              client_id: documentUrl,
              client_name: "Metadata-document client",
              redirect_uris: [callback.redirectUri],
              grant_types: ["authorization_code", "refresh_token"],
              response_types: ["code"],
              token_endpoint_auth_method: "none",
            }),
          );
        });
        await new Promise<void>((resolve) => docs.listen(0, "127.0.0.1", resolve));
        documentUrl = `https://127.0.0.1:${(docs.address() as AddressInfo).port}/mcp-client.json`;
      });
      afterAll(async () => {
        await new Promise((resolve) => docs?.close(resolve));
      });

      it("support agent: no registration, the document's client on the page, login in Chromium, the agent's tools", async () => {
        const page = await within("a new page", browser.context.newPage());
        const posts = recordFormPosts(page);
        const provider = new BrowserOAuthProvider(callback.redirectUri, page);
        // The client id is the document's URL, handed over as the client's known identity: no
        // registration call.
        provider.saveClientInformation({ client_id: documentUrl, issuer: stack.identity.url });
        const calls: string[] = [];
        const recordingFetch: typeof fetch = async (input, init) => {
          const url = new URL(input instanceof Request ? input.url : String(input));
          calls.push(url.pathname);
          return within(`${init?.method ?? "GET"} ${url.pathname}`, fetch(input, init));
        };
        const transport = () =>
          new StreamableHTTPClientTransport(new URL(stack.mcpUrl), {
            authProvider: provider,
            fetch: recordingFetch,
          });

        const failed = await within(
          "the first connect (401, discovery, the browser sent to the sign-in page)",
          mcpClient()
            .connect(transport())
            .catch((e: unknown) => e),
        );
        expect(failed).toBeInstanceOf(UnauthorizedError);
        expect(atSignInPage(page)).toBe(true);
        const shown = await within("the page's text", page.textContent("body"));
        expect(shown).toContain("Metadata-document client");
        expect(shown).toContain(documentUrl);
        expect(fetched).toContain("/mcp-client.json");

        // Each step bounded and named: this sign-in switches the shared browser's account (the
        // viewer's, from the first spec), and a spec of that switch beside it hung at times.
        const landed = callback.next();
        await within(
          "the sign-in's click",
          signIn(page, { email: "agent@company.com", password: stack.passwords.agent }),
        );
        const back = await landed;
        expect([back.get("state"), back.get("iss")]).toEqual([provider.sentState, stack.identity.url]);
        expect((await within("the posts' headers", Promise.all(posts))).map((p) => p.origin)).toEqual([
          stack.identity.url,
        ]);

        await within("the code's exchange", transport().finishAuth(back));
        const client = mcpClient();
        await within("connecting with the token", client.connect(transport()));
        const { tools } = await within("tools/list", client.listTools());
        expect(tools.map((t) => t.name).sort()).toEqual(toolsOf("support_agent"));
        expect(jose.decodeJwt(provider.tokens()?.access_token ?? "").act).toEqual({ sub: documentUrl });
        expect(calls).not.toContain("/oauth2/register");
        await within("closing the client", client.close());
        await within("closing the page", page.close());
      }, 180_000);
    });
  },
);
