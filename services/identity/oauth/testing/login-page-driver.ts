import type { Page } from "playwright-core";

/**
 * A person at the login and consent page (oauth/authorize/login-page.ts) in a real browser: types
 * into the form's labelled fields and clicks its buttons, so the browser builds and posts the form
 * itself — hidden fields, CSRF cookie, Origin and all.
 */
export async function signIn(page: Page, credentials: { email: string; password: string }): Promise<void> {
  await page.getByLabel("Email").fill(credentials.email);
  await page.getByLabel("Password").fill(credentials.password);
  await page.getByRole("button", { name: "Sign in and allow" }).click();
}

/** Presses Deny (the button skips the form's validation: no credentials needed). */
export async function deny(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Deny" }).click();
}

/** The CSRF value the page currently carries in its form. */
export function csrfField(page: Page): Promise<string> {
  return page.locator('input[name="csrf"]').inputValue();
}
