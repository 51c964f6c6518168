import { randomBytes } from "node:crypto";
import type { Page } from "playwright-core";
import { InMemoryOAuthProvider } from "./recording-provider.js";

/**
 * The in-memory provider of an MCP client application whose "open the browser" step really opens
 * the authorization URL in Chromium, and which sends a `state` of its own (the SDK leaves checking
 * it to the application).
 */
export class BrowserOAuthProvider extends InMemoryOAuthProvider {
  readonly sentState = randomBytes(16).toString("base64url");

  constructor(
    redirect: string,
    private readonly page: Page,
  ) {
    super(redirect);
  }

  state(): string {
    return this.sentState;
  }

  override async redirectToAuthorization(url: URL): Promise<void> {
    super.redirectToAuthorization(url);
    await this.page.goto(url.href);
  }
}
