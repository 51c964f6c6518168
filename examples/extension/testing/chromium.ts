import { type Browser, launchChromium } from "#kit/testing/chromium.js";

/**
 * Headless Chromium (the new headless mode runs extensions) with the unpacked extension in
 * `extensionDir` loaded, through the kit's launcher (fresh profile, deleted on close).
 */
export function launchWithExtension(extensionDir: string): Promise<Browser> {
  return launchChromium({
    // Playwright disables extensions by default.
    ignoreDefaultArgs: ["--disable-extensions"],
    args: [`--disable-extensions-except=${extensionDir}`, `--load-extension=${extensionDir}`],
    // The popup's size in Chrome (its body's minimum); tests resize to 800 × 600 too.
    viewport: { width: 400, height: 600 },
  });
}
