import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLE_SCOPES, TOOL_NAMES, TOOL_SCOPES } from "#kit/contract/index.js";
import { type Browser, CHROMIUM_PATH, chromiumPresent, noChromiumMessage } from "#kit/testing/chromium.js";
import { freePort } from "#kit/testing/free-port.js";
import { NPM_START, type StackUnderTest, startStack } from "#services/stack/testing/stack-harness.js";
import { type BuiltExtension, buildExtension } from "./build.js";
import { launchWithExtension } from "./testing/chromium.js";
import { boxOf, measureFonts, pngSize } from "./testing/layout-probe.js";
import { PopupPage } from "./testing/popup-page.js";
import { type StaticSite, serveDirectory } from "./testing/static-site.js";

/**
 * The extension as a user runs it: built by `npm run build:extension`'s code, loaded unpacked in
 * headless Chromium, against the stack started as `npm start` starts it, with chat's CORS_ORIGINS
 * listing the extension's origin and a development page's — and nothing else.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const OUTPUT = join(HERE, "../../.data/test-output/extension");
const QUESTION = "What are all the tools you can call?";
const WRITE = "create a ticket: printer on fire, high priority";
/** Chat's limit of runs per user and minute on this file's stack. */
const TURNS_PER_MINUTE = 20;
/** Two tool calls in one answer (the planner's clauses): the longest turn the layout must hold. */
const TWO_TOOLS = "create a ticket: printer on fire, high priority, then assign it to me";
/** The popup's size in Chrome at its narrowest (its body's minimum) and at Chrome's largest. */
const SIZES = [
  { width: 400, height: 600 },
  { width: 800, height: 600 },
] as const;
const VIEWER_TOOLS = TOOL_NAMES.filter((t) =>
  (ROLE_SCOPES.viewer as readonly string[]).includes(TOOL_SCOPES[t]),
);
const present = chromiumPresent();
if (!present) console.warn(noChromiumMessage("the extension's browser test"));

let built: BuiltExtension;
let buildDir: string;
let stack: StackUnderTest;
let browser: Browser;
let devPage: StaticSite;
let otherPage: StaticSite;
let chatUrl: string;
let identityUrl: string;
const viewerPassword = `viewer-${randomBytes(9).toString("base64url")}`;
const screenshots: string[] = [];
/** The screenshots at the popup's sizes: kept after the run (the paths are printed) for a person to look at. */
let sizedDir: string;

async function shot(popup: PopupPage, name: string): Promise<void> {
  screenshots.push(await popup.screenshot(join(OUTPUT, `${name}.png`)));
}

/**
 * At each of the popup's sizes: the composer (box and Send) lies inside the viewport — nothing to
 * scroll to reach it — and a screenshot of exactly what is on screen is saved and printed.
 */
async function composerOnScreenAtEverySize(popup: PopupPage, name: string): Promise<void> {
  for (const size of SIZES) {
    await popup.page.setViewportSize(size);
    // Two frames: layout, then the list's resize observer keeping the latest message in view.
    await popup.page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))");
    const list = await boxOf(popup.page, "#messages");
    const latest = await boxOf(popup.page, "#messages > li:last-child");
    expect(latest.bottom, `the latest answer at ${size.width}×${size.height}`).toBeLessThanOrEqual(
      list.bottom + 1,
    );
    for (const selector of ["#message-input", "#send"]) {
      const box = await boxOf(popup.page, selector);
      expect(box.top, `${selector} at ${size.width}×${size.height}`).toBeGreaterThanOrEqual(0);
      expect(box.left, `${selector} at ${size.width}×${size.height}`).toBeGreaterThanOrEqual(0);
      expect(box.bottom, `${selector} at ${size.width}×${size.height}`).toBeLessThanOrEqual(size.height);
      expect(box.right, `${selector} at ${size.width}×${size.height}`).toBeLessThanOrEqual(size.width);
    }
    // No page scroll either: the message list is what scrolls.
    expect(await popup.page.evaluate("document.scrollingElement.scrollTop")).toBe(0);
    const path = join(sizedDir, `${name}-${size.width}x${size.height}.png`);
    await popup.page.screenshot({ path });
    const png = pngSize(path);
    expect(png).toEqual(size);
    const composer = await boxOf(popup.page, "#composer");
    console.log(
      `screenshot ${path}: ${png.width}×${png.height} px (composer at y ${Math.round(composer.top)}–${Math.round(composer.bottom)})`,
    );
  }
  await popup.page.setViewportSize(SIZES[0]);
}

// Extension storage, read and written in the extension's page (strings: DOM-side code).
const CLEAR_STORAGE = "Promise.all([chrome.storage.local.clear(), chrome.storage.session.clear()])";
const READ_STORAGE =
  "(async () => ({ ...(await chrome.storage.local.get(null)), ...(await chrome.storage.session.get(null)) }))()";
interface Stored {
  session?: { refreshToken: string };
  access?: { token: string; expiresAtMs: number };
}

/** The extension's popup page, from a clean slate: nobody logged in. */
async function openPopup(): Promise<PopupPage> {
  const page = await browser.context.newPage();
  await page.goto(`${built.origin}/popup.html`);
  await page.evaluate(CLEAR_STORAGE);
  await page.reload();
  return new PopupPage(page);
}

async function openAt(origin: string): Promise<PopupPage> {
  const page: Page = await browser.context.newPage();
  await page.goto(`${origin}/popup.html`);
  return new PopupPage(page);
}

describe.skipIf(!present)(
  `the extension in headless Chromium${present ? "" : ` (skipped: no ${CHROMIUM_PATH})`}`,
  () => {
    beforeAll(async () => {
      rmSync(OUTPUT, { recursive: true, force: true });
      mkdirSync(OUTPUT, { recursive: true });
      buildDir = mkdtempSync(join(tmpdir(), "extension-build-"));
      sizedDir = mkdtempSync(join(tmpdir(), "extension-screenshots-"));
      built = await buildExtension(buildDir);
      devPage = await serveDirectory(built.dir, 0);
      otherPage = await serveDirectory(built.dir, 0);
      // `npm start`'s runner, through the stack tests' hermetic harness; `env` adds the two settings
      // this test needs on top of the harness's fixed environment.
      stack = await startStack("/usr/bin/env", [
        `CORS_ORIGINS=${built.origin},${devPage.origin}`,
        // The extension signs in at chrome.identity's redirect; the development page at its own callback.
        `EXTENSION_REDIRECT_URIS=https://${built.id}.chromiumapp.org/,${devPage.origin}/oauth-callback.html`,
        `SEED_VIEWER_PASSWORD=${viewerPassword}`,
        // Low enough for one spec to reach in seconds, above what the others use (docs/chat.md).
        `CHAT_USER_TURNS_PER_MINUTE=${TURNS_PER_MINUTE}`,
        process.execPath,
        ...NPM_START,
      ]);
      await stack.waitFor((o) => o.includes('"msg":"stack ready"'), 180_000);
      chatUrl = `http://127.0.0.1:${stack.ports.chat}`;
      identityUrl = `http://127.0.0.1:${stack.ports.identity}`;
      browser = await launchWithExtension(built.dir);
    }, 240_000);

    afterAll(async () => {
      await browser?.close();
      if (stack && stack.child.exitCode === null) {
        const exited = new Promise((r) => stack.child.once("exit", r));
        stack.child.kill("SIGTERM");
        await exited;
      }
      await devPage?.close();
      await otherPage?.close();
      if (buildDir) rmSync(buildDir, { recursive: true, force: true });
      if (screenshots.length > 0) {
        console.log(`screenshots:\n${screenshots.map((s) => `  ${relative(process.cwd(), s)}`).join("\n")}`);
      }
    }, 60_000);

    it("admin@company.com logs in, picks an agent, and sees all 13 tools stream in", async () => {
      const popup = await openPopup();
      await popup.logIn(chatUrl, "admin@company.com", stack.adminPassword);
      await popup.loggedIn();
      expect(await popup.page.textContent("#user-email")).toBe("admin@company.com");
      await popup.pickAgent("support-assistant");
      // Every tool: the admin's scopes grant them all.
      expect(await popup.toolCount()).toEqual({ count: TOOL_NAMES.length, text: "13 tools you can use" });
      await popup.newThread();

      const turn = await popup.ask(QUESTION);
      expect(turn.status).toBe("complete");
      for (const tool of TOOL_NAMES) expect(turn.text).toContain(tool);
      expect(TOOL_NAMES).toHaveLength(13);
      expect(turn.text).toContain("13 tools");
      // Rendered as it streamed: delta after delta into a bubble still streaming, then completed.
      expect(turn.deltasRendered).toBeGreaterThan(1);
      expect(turn.transitions).toContain("message streaming→complete");
      // The new thread took its title from its first message.
      await popup.page.locator("#thread-title", { hasText: QUESTION }).waitFor();
      await shot(popup, "1-admin-all-tools");

      // A write and a second call on its result: each tool call appears running, with its
      // arguments as labelled fields, then succeeds.
      const write = await popup.ask(TWO_TOOLS);
      expect(write.toolCalls.map((c) => [c.name, c.status])).toEqual([
        ["create_ticket", "succeeded"],
        ["assign_ticket", "succeeded"],
      ]);
      const call = write.toolCalls.find((c) => c.name === "create_ticket");
      expect(call?.args.toLowerCase()).toContain("printer on fire");
      expect(call?.fields).toEqual(
        expect.arrayContaining([
          ["Title", "Printer on fire"],
          ["Priority", "high"],
        ]),
      );
      expect(write.transitions).toContain("tool:create_ticket added running");
      expect(write.transitions).toContain("tool:create_ticket running→succeeded");
      expect(write.transitions).toContain("tool:assign_ticket running→succeeded");

      // Readable type: body and message text at least 14 px, as Chromium computed them.
      const fonts = await measureFonts(popup.page);
      console.log(`computed font sizes (px): ${JSON.stringify(fonts)}`);
      for (const [what, px] of Object.entries(fonts)) {
        expect(typeof px === "number" ? px : px.px, what).toBeGreaterThanOrEqual(14);
      }
      // Before anything is clicked: a click scrolls the list, and a reader who scrolled up stays there.
      await composerOnScreenAtEverySize(popup, "admin-two-tools");

      // The exact arguments on demand: the "JSON" toggle swaps the fields for the JSON, and back.
      const created = popup.page.locator('#messages li.tool-call[data-tool="create_ticket"]').last();
      const toggle = created.locator("button.json-toggle");
      expect(await toggle.textContent()).toBe("JSON");
      expect(await toggle.getAttribute("aria-pressed")).toBe("false");
      expect(await created.locator(".tool-args-json").isVisible()).toBe(false);
      await toggle.click();
      expect(await toggle.getAttribute("aria-pressed")).toBe("true");
      expect(await created.locator(".tool-args").isVisible()).toBe(false);
      const json = JSON.parse((await created.locator(".tool-args-json").textContent()) ?? "") as Record<
        string,
        unknown
      >;
      expect(json).toMatchObject({ title: "Printer on fire", priority: "high" });
      await toggle.click();
      expect(await created.locator(".tool-args").isVisible()).toBe(true);

      await shot(popup, "2-admin-tool-call");

      // The thread is listed (titled from its first message) and opens again with its four messages.
      await popup.newThread();
      const listed = popup.page.locator("#threads button.thread", { hasText: QUESTION.slice(0, 20) });
      await listed.click();
      await popup.page.locator("#messages li.message").nth(3).waitFor();
      expect(await popup.page.locator("#messages li.message").count()).toBe(4);
      expect(await listed.getAttribute("aria-current")).toBe("true");
      expect(
        await popup.page
          .locator('#messages li.tool-call[data-tool="create_ticket"][data-status="succeeded"]')
          .count(),
      ).toBe(1);
      await shot(popup, "3-admin-thread-reopened");
      await popup.page.click("#logout");
      await popup.page.locator("#login").waitFor();
      await popup.page.close();
    }, 120_000);

    it("deleting a ticket asks first: the question with Confirm / Cancel, nothing deleted before Confirm, then the result", async () => {
      const popup = await openPopup();
      await popup.logIn(chatUrl, "admin@company.com", stack.adminPassword);
      await popup.loggedIn();
      await popup.pickAgent("support-assistant");
      await popup.newThread();
      const created = await popup.ask("create a ticket: old VPN outage report, duplicate");
      const id = /Created ticket #(\d+)/.exec(created.text)?.[1];
      expect(id, created.text).toBeDefined();

      // The planner calls delete_ticket; the MCP server asks before anything runs (docs/chat.md,
      // "Confirmation before destruction"): the bubble shows the question with Confirm and Cancel.
      const asked = await popup.ask(`delete ticket ${id} because duplicate`);
      expect(asked.status).toBe("awaiting-confirmation");
      expect(asked.toolCalls.map((c) => [c.name, c.status])).toEqual([
        ["delete_ticket", "awaiting-confirmation"],
      ]);
      const bubble = popup.page.locator("#messages li.message.assistant").last();
      const box = bubble.locator(".confirmation");
      expect(await box.getAttribute("data-state")).toBe("asked");
      expect(await box.locator(".confirmation-question").textContent()).toMatch(
        new RegExp(`^Delete ticket #${id} "Old VPN outage report, duplicate" \\(reason: duplicate\\)\\?`),
      );
      expect(await box.locator(".confirmation-args").textContent()).toBe(
        `delete_ticket ticket_id: ${id}, reason: "duplicate"`,
      );
      const confirm = box.getByRole("button", { name: `Confirm: Delete ticket #${id}` });
      const cancel = box.getByRole("button", { name: "Cancel" });
      expect(await confirm.isEnabled()).toBe(true);
      expect(await cancel.isEnabled()).toBe(true);
      // Nothing was deleted: the ticket is still there for a read in another thread.
      await popup.newThread();
      const still = await popup.ask(`show ticket ${id}`);
      expect(still.toolCalls.map((c) => [c.name, c.status])).toEqual([["get_ticket", "succeeded"]]);
      // Back to the question (the thread reopened from storage shows it again, buttons live).
      await popup.page.locator("#threads button.thread", { hasText: "create a ticket: old VPN" }).click();
      await popup.page.locator("#messages li.message").nth(3).waitFor();
      const stored = popup.page.locator("#messages li.message.assistant").last().locator(".confirmation");
      await stored.waitFor();

      // At the popup's two sizes: the question and both buttons are on screen, and shot.
      for (const size of SIZES) {
        await popup.page.setViewportSize(size);
        await popup.page.evaluate(
          "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))",
        );
        await stored.scrollIntoViewIfNeeded();
        for (const selector of ["button.confirm", "button.cancel"]) {
          const b = await stored.locator(selector).boundingBox();
          expect(b, `${selector} at ${size.width}×${size.height}`).not.toBeNull();
          expect((b?.x ?? -1) + (b?.width ?? 0)).toBeLessThanOrEqual(size.width);
          expect((b?.y ?? -1) + (b?.height ?? 0)).toBeLessThanOrEqual(size.height);
          expect(b?.y ?? -1).toBeGreaterThanOrEqual(0);
        }
        const path = join(sizedDir, `confirm-delete-question-${size.width}x${size.height}.png`);
        await popup.page.screenshot({ path });
        expect(pngSize(path)).toEqual(size);
        console.log(`screenshot ${path}: the delete question with Confirm / Cancel`);
      }
      await popup.page.setViewportSize(SIZES[0]);

      await stored.locator("button.confirm").click();
      const done = popup.page.locator('#messages li.message.assistant:last-child[data-status="complete"]');
      await done.waitFor({ timeout: 60_000 });
      expect(await done.locator(".text").textContent()).toBe(`Ticket #${id} deleted.`);
      expect(await done.locator('li.tool-call[data-tool="delete_ticket"]').getAttribute("data-status")).toBe(
        "succeeded",
      );
      expect(await stored.getAttribute("data-state")).toBe("confirmed");
      expect(await stored.locator("button.confirm").isDisabled()).toBe(true);
      expect(await stored.locator("button.cancel").isDisabled()).toBe(true);
      await popup.page.locator("#send:enabled").waitFor();
      for (const size of SIZES) {
        await popup.page.setViewportSize(size);
        await popup.page.evaluate(
          "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))",
        );
        await done.locator(".text").scrollIntoViewIfNeeded();
        const path = join(sizedDir, `confirm-delete-done-${size.width}x${size.height}.png`);
        await popup.page.screenshot({ path });
        expect(pngSize(path)).toEqual(size);
        console.log(`screenshot ${path}: the ticket deleted after Confirm`);
      }
      await popup.page.setViewportSize(SIZES[0]);
      // Gone now for every tool.
      const gone = await popup.ask(`show ticket ${id}`);
      expect(gone.text).toMatch(/not_found/);

      // Cancel: nothing is deleted, and the answer says who stopped it.
      const kept = await popup.ask("create a ticket: keep this printer ticket");
      const keptId = /Created ticket #(\d+)/.exec(kept.text)?.[1];
      await popup.ask(`delete ticket ${keptId}`);
      const question = popup.page.locator("#messages li.message.assistant").last().locator(".confirmation");
      await question.locator("button.cancel").click();
      const cancelled = popup.page.locator(
        '#messages li.message.assistant:last-child[data-status="complete"]',
      );
      await cancelled.waitFor({ timeout: 60_000 });
      expect(await cancelled.locator(".text").textContent()).toBe(
        "delete_ticket was cancelled by the user: nothing was changed.",
      );
      expect(await question.getAttribute("data-state")).toBe("cancelled");
      await shot(popup, "9-admin-delete-cancelled");
      await popup.page.click("#logout");
      await popup.page.locator("#login").waitFor();
      await popup.page.close();
    }, 180_000);

    it("viewer@company.com sees only the viewer's tools, and a clear refusal for a write", async () => {
      const popup = await openPopup();
      await popup.logIn(chatUrl, "viewer@company.com", viewerPassword);
      await popup.loggedIn();
      await popup.pickAgent("support-assistant");
      // The agent's allow-list has every tool; the viewer may use theirs only, and is told so.
      expect(VIEWER_TOOLS).toHaveLength(6);
      expect(await popup.toolCount()).toEqual({
        count: VIEWER_TOOLS.length,
        text: `${VIEWER_TOOLS.length} tools you can use`,
      });
      await popup.newThread();

      const turn = await popup.ask(QUESTION);
      expect(turn.status).toBe("complete");
      for (const tool of VIEWER_TOOLS) expect(turn.text).toContain(tool);
      for (const tool of TOOL_NAMES.filter((t) => !VIEWER_TOOLS.includes(t)))
        expect(turn.text).not.toContain(tool);
      expect(turn.text).toContain(`${VIEWER_TOOLS.length} tools`);

      const write = await popup.ask(WRITE);
      expect(write.text).toMatch(/can't create tickets|not available to you|permission/i);
      expect(write.toolCalls.filter((c) => c.status === "succeeded")).toEqual([]);
      await shot(popup, "4-viewer-refused-write");

      // The keyboard: Shift+Enter breaks the line and sends nothing; Enter sends both lines.
      const lines = ["search tickets about printer", "and show the ticket stats"];
      const users = popup.page.locator("#messages li.message.user");
      const sentBefore = await users.count();
      const typed = await popup.askByKeyboard(lines, async () => {
        expect(await popup.page.inputValue("#message-input")).toBe(lines.join("\n"));
        expect(await users.count()).toBe(sentBefore);
      });
      expect(await users.count()).toBe(sentBefore + 1);
      expect(await users.last().textContent()).toBe(lines.join("\n"));
      expect(await popup.page.inputValue("#message-input")).toBe("");
      expect(typed.toolCalls.map((c) => [c.name, c.status])).toEqual([
        ["search_tickets", "succeeded"],
        ["get_ticket_stats", "succeeded"],
      ]);
      expect(typed.toolCalls[0]?.fields).toEqual([["Query", "printer"]]);
      await composerOnScreenAtEverySize(popup, "viewer-keyboard-two-tools");
      await popup.page.close();
    }, 120_000);

    it("a thread renamed in its row (Enter saves, Escape keeps) and deleted after asking (Keep keeps it): the list, the heading and the server agree", async () => {
      const popup = await openPopup();
      const { page } = popup;
      await popup.logIn(chatUrl, "viewer@company.com", viewerPassword);
      await popup.loggedIn();
      await popup.pickAgent("ticket-reader");
      await popup.newThread();
      const threadId = (await page.getAttribute("#conversation", "data-thread-id")) ?? "";
      expect((await popup.ask("show me ticket 1")).status).toBe("complete");
      const row = page.locator(`#threads li[data-thread-id="${threadId}"]`);
      await row.locator("button.thread", { hasText: "show me ticket 1" }).waitFor();

      await row.getByRole("button", { name: "Rename show me ticket 1" }).click();
      const field = row.getByRole("textbox", { name: "New title" });
      expect(await field.inputValue()).toBe("show me ticket 1");
      await field.fill("Printer follow-up");
      await field.press("Escape");
      await row.locator("button.thread", { hasText: "show me ticket 1" }).waitFor();
      await row.getByRole("button", { name: "Rename show me ticket 1" }).click();
      await field.fill("  Printer follow-up  ");
      await field.press("Enter");
      await row.locator("button.thread", { hasText: "Printer follow-up" }).waitFor();
      await page.locator("#thread-title", { hasText: "Printer follow-up" }).waitFor();
      await shot(popup, "5-viewer-thread-renamed");

      await row.getByRole("button", { name: "Delete Printer follow-up" }).click();
      const question = row.getByRole("group", { name: "Delete Printer follow-up?" });
      expect(await question.textContent()).toContain("Delete “Printer follow-up” and its messages?");
      await shot(popup, "6-viewer-thread-delete-question");
      await question.getByRole("button", { name: "Keep" }).click();
      await row.locator("button.thread", { hasText: "Printer follow-up" }).waitFor();
      await row.getByRole("button", { name: "Delete Printer follow-up" }).click();
      await row.getByRole("button", { name: "Delete", exact: true }).click();
      await row.waitFor({ state: "detached" });
      await page.locator("#conversation[hidden]").waitFor({ state: "attached" });

      // What the server holds, read afresh: the popup reopened lists no such thread.
      await page.reload();
      await popup.loggedIn();
      await popup.pickAgent("ticket-reader");
      await page.locator("#threads li").first().waitFor();
      expect(await page.locator(`#threads li[data-thread-id="${threadId}"]`).count()).toBe(0);
      expect(await page.locator("#threads button.thread", { hasText: "Printer follow-up" }).count()).toBe(0);
      await page.close();
    }, 120_000);

    it("keeps the refresh token in extension storage, refreshes the access token before it expires, and says 'log in again' once the session is revoked", async () => {
      const popup = await openPopup();
      await popup.logIn(chatUrl, "viewer@company.com", viewerPassword);
      await popup.loggedIn();
      const storage = async () => (await popup.page.evaluate(READ_STORAGE)) as Stored;
      const first = await storage();
      expect(first.session?.refreshToken?.length).toBeGreaterThanOrEqual(43);

      // The popup is opened again with its access token a moment from expiry: it refreshes before calling.
      const nearExpiry = { access: { ...first.access, expiresAtMs: Date.now() + 1000 } };
      await popup.page.evaluate(`chrome.storage.session.set(${JSON.stringify(nearExpiry)})`);
      await popup.page.reload();
      await popup.loggedIn();
      const second = await storage();
      expect(second.access?.token).not.toBe(first.access?.token);
      expect(second.session?.refreshToken).not.toBe(first.session?.refreshToken);

      // The session ends elsewhere (its refresh token revoked, RFC 7009): the next popup says so.
      const revoked = await fetch(`${identityUrl}/oauth2/revoke`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          client_id: "support-ext-extension",
          token: second.session?.refreshToken ?? "",
        }),
      });
      expect(revoked.status).toBe(200);
      await popup.page.reload();
      expect(await popup.error()).toMatch(/revoked.*Log in again/);
      await popup.page.locator("#login").waitFor();
      expect((await storage()).session).toBeUndefined();
      await shot(popup, "5-session-revoked");
      await popup.page.close();
    }, 60_000);

    it("past the user's limit of messages a minute, the popup says so with the wait, and keeps what was typed", async () => {
      const popup = await openPopup();
      await popup.logIn(chatUrl, "viewer@company.com", viewerPassword);
      await popup.loggedIn();
      await popup.pickAgent("ticket-reader");
      await popup.newThread();
      const assistant = popup.page.locator('#messages li.message.assistant:not([data-status="streaming"])');
      const refusal = popup.page.locator('#status[data-kind="error"]');
      let answered = 0;
      // The viewer's earlier turns count too: send until the limit refuses one.
      for (let i = 0; i <= TURNS_PER_MINUTE && !(await refusal.isVisible()); i++) {
        const before = await assistant.count();
        await popup.page.fill("#message-input", `show me the ticket stats (${i})`);
        await popup.page.click("#send");
        await Promise.race([
          assistant.nth(before).waitFor({ timeout: 60_000 }),
          refusal.waitFor({ timeout: 60_000 }),
        ]);
        if (!(await refusal.isVisible())) answered++;
        await popup.page.locator("#send:enabled").waitFor();
      }
      expect(answered).toBeGreaterThan(0);
      expect(answered).toBeLessThanOrEqual(TURNS_PER_MINUTE);
      expect(await popup.error()).toMatch(
        new RegExp(`^too many messages: at most ${TURNS_PER_MINUTE} a minute; try again in \\d+ s$`),
      );
      // The refused message is not shown as sent (the server stored nothing of it)...
      expect(await popup.page.locator("#messages li.message.user").count()).toBe(answered);
      expect(await popup.page.locator("#messages li.message.assistant").count()).toBe(answered);
      // ...and what the user typed is back in the composer, to send once the wait is over.
      expect(await popup.page.inputValue("#message-input")).toMatch(/^show me the ticket stats \(\d+\)$/);
      await shot(popup, "7-limit-reached");
      await popup.page.close();
    }, 180_000);

    it("a server that is down gets a clear message, not a blank popup", async () => {
      const popup = await openPopup();
      const nothingThere = `http://127.0.0.1:${await freePort()}`;
      await popup.page.locator("#login").waitFor();
      await popup.page.fill("#server", nothingThere);
      await popup.page.click("#login-button");
      expect(await popup.error()).toContain(
        `Can't reach the support service at ${nothingThere}: it looks down`,
      );
      await shot(popup, "6-service-down");
      await popup.page.close();
    }, 60_000);

    it("CORS: the development page's origin is served; any other origin is refused (preflight 403, fetch fails)", async () => {
      const preflight = (url: string, origin: string) =>
        fetch(url, {
          method: "OPTIONS",
          headers: {
            origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,connect-protocol-version",
          },
        });
      const procedures = [
        `${identityUrl}/supportext.auth.v1.AuthService/Login`,
        `${chatUrl}/supportext.chat.v1.ChatService/ListThreads`,
      ];
      for (const url of procedures) {
        for (const origin of [built.origin, devPage.origin]) {
          const ok = await preflight(url, origin);
          expect(ok.status, url).toBe(204);
          expect(ok.headers.get("access-control-allow-origin")).toBe(origin);
          expect(ok.headers.get("access-control-max-age")).toBe("7200");
        }
        const refused = await preflight(url, otherPage.origin);
        expect(refused.status, url).toBe(403);
        expect(refused.headers.get("access-control-allow-origin")).toBeNull();
      }
      // Public documents are read from any origin: chat's RFC 9728 metadata names the identity provider.
      const metadata = await fetch(`${chatUrl}/.well-known/oauth-protected-resource`, {
        headers: { origin: otherPage.origin },
      });
      expect(metadata.headers.get("access-control-allow-origin")).toBe("*");
      expect(((await metadata.json()) as { authorization_servers: string[] }).authorization_servers).toEqual([
        identityUrl,
      ]);

      const dev = await openAt(devPage.origin);
      await dev.logIn(chatUrl, "admin@company.com", stack.adminPassword);
      await dev.loggedIn();
      await shot(dev, "7-dev-page-origin");
      await dev.page.close();

      const other = await openAt(otherPage.origin);
      const failed = await other.page.evaluate(async (url) => {
        try {
          await fetch(`${url}/supportext.auth.v1.AuthService/Login`, {
            method: "POST",
            headers: { "content-type": "application/json", "connect-protocol-version": "1" },
            body: "{}",
          });
          return "answered";
        } catch (err) {
          return String(err);
        }
      }, identityUrl);
      expect(failed).toMatch(/TypeError: Failed to fetch/);
      // Its sign-in goes nowhere: its callback is no registered redirect URI, so the identity
      // service's page says so and issues nothing; closed, the popup says sign-in did not finish.
      const window = await other.startSignIn(chatUrl);
      // The window opens blank and is then sent to the identity service's page.
      await expect
        .poll(() => window.textContent("body").catch(() => ""), { timeout: 30_000 })
        .toMatch(/redirect_uri/);
      await window.close();
      expect(await other.error()).toContain("Sign-in did not finish");
      await shot(other, "8-disallowed-origin");
      await other.page.close();
    }, 60_000);
  },
);
