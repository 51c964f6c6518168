import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";

/** Computed font sizes in CSS px, as Chromium resolved them (getComputedStyle). */
export interface FontSizes {
  readonly body: number;
  readonly userMessage: number;
  readonly assistantMessage: number;
  readonly toolName: number;
  readonly toolArgumentLabel: number;
  readonly toolArgumentValue: number;
  readonly composer: number;
  /** The smallest size of any visible element holding text of its own, and which element. */
  readonly smallest: { readonly px: number; readonly element: string; readonly text: string };
}

// Runs in the page (DOM code, so a string: the tests' tsconfig has no DOM library).
const FONT_PROBE = `(() => {
  const px = (el) => parseFloat(getComputedStyle(el).fontSize);
  const of = (selector) => {
    const el = document.querySelector(selector);
    if (!el) throw new Error("no " + selector + " on the page");
    return px(el);
  };
  const texty = [...document.querySelectorAll("body *")].filter(
    (el) => el.checkVisibility() && [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim() !== ""),
  );
  const smallest = texty
    .map((el) => ({ px: px(el), element: el.tagName.toLowerCase() + (el.className ? "." + el.className.split(" ").join(".") : ""), text: el.textContent.trim().slice(0, 30) }))
    .sort((a, b) => a.px - b.px)[0];
  return {
    body: of("body"),
    userMessage: of("#messages .message.user .text"),
    assistantMessage: of("#messages .message.assistant .text"),
    toolName: of("#messages .tool-name"),
    toolArgumentLabel: of("#messages .tool-args dt"),
    toolArgumentValue: of("#messages .tool-args dd"),
    composer: of("#message-input"),
    smallest,
  };
})()`;

export function measureFonts(page: Page): Promise<FontSizes> {
  return page.evaluate(FONT_PROBE) as Promise<FontSizes>;
}

export interface Box {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

/** Where an element is drawn, relative to the viewport. */
export function boxOf(page: Page, selector: string): Promise<Box> {
  return page.evaluate(`(() => {
    const r = document.querySelector(${JSON.stringify(selector)}).getBoundingClientRect();
    return { top: r.top, bottom: r.bottom, left: r.left, right: r.right };
  })()`) as Promise<Box>;
}

/** A PNG's size, from its first chunk, IHDR, after the 8-byte signature (RFC 2083 §3.1, §4.1.1). */
export function pngSize(path: string): { width: number; height: number } {
  const png = readFileSync(path);
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
