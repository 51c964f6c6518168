import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

/** Debian's Chromium (`apt-get install chromium`): the tests never download a browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

export function chromiumPresent(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/** What a test prints when it skips for want of the browser. */
export function noChromiumMessage(what: string): string {
  return `SKIPPED ${what}: no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium)`;
}

// No background traffic: on a closed network Chromium's own connections are refused, many at a time.
const QUIET_FLAGS = [
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Flags on top of the quiet ones. */
  readonly args?: readonly string[];
  /** Playwright defaults to leave out (e.g. `--disable-extensions`, to load one). */
  readonly ignoreDefaultArgs?: readonly string[];
  readonly viewport?: { readonly width: number; readonly height: number };
}

/**
 * Headless Chromium (the new headless mode) without the sandbox (containers), in a fresh profile
 * that is deleted on close: no cookie, storage or cache from a previous run.
 */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "chromium-profile-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      chromiumSandbox: false,
      ...(options.ignoreDefaultArgs ? { ignoreDefaultArgs: [...options.ignoreDefaultArgs] } : {}),
      args: [...QUIET_FLAGS, ...(options.args ?? [])],
      ...(options.viewport ? { viewport: { ...options.viewport } } : {}),
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
