import type { HttpResponse } from "#kit/server/index.js";

/** Everything the page shows comes from the request or the client: escaped, every time. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface LoginPageModel {
  readonly action: string;
  /** The client's own claim (unverified) and its id. */
  readonly clientName: string | undefined;
  readonly clientId: string;
  /** Where the code will go: the user should recognise it. */
  readonly redirectOrigin: string;
  readonly resource: string;
  /** What the client asked for, or undefined: everything the user holds. */
  readonly scopes: readonly string[] | undefined;
  readonly email?: string;
  readonly message?: string;
}

const STYLE =
  "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}" +
  "label{display:block;margin:.8rem 0 .2rem}input[type=email],input[type=password]{width:100%;padding:.4rem}" +
  "button{margin:1rem .5rem 0 0;padding:.5rem 1rem}.msg{color:#a00}code{word-break:break-all}";

/**
 * The login and consent page: one form, plain HTML, no script. It posts to its own interaction
 * (provider/interaction/submit-sign-in.ts); the provider's interaction cookie (HttpOnly,
 * SameSite=Lax, bound to this interaction and spent when it ends) is what ties the post to the
 * browser that opened the page, so a cross-site post finds no interaction.
 */
export function renderLoginPage(m: LoginPageModel): string {
  const name = m.clientName ? `“${escapeHtml(m.clientName)}”` : "An application";
  const scopes = m.scopes
    ? m.scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join("")
    : "<li>all the scopes your account has</li>";
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in — support-ext</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head><body>
<h1>Sign in to support-ext</h1>
<p>${name} (client <code>${escapeHtml(m.clientId)}</code>) asks to act as you at <code>${escapeHtml(m.resource)}</code>, with:</p>
<ul>${scopes}</ul>
<p>After you allow it, you are sent back to <code>${escapeHtml(m.redirectOrigin)}</code>.</p>
${m.message ? `<p class="msg" role="alert">${escapeHtml(m.message)}</p>` : ""}
<form method="post" action="${escapeHtml(m.action)}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(m.email ?? "")}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" name="decision" value="allow">Sign in and allow</button><button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</form></body></html>`;
}

export function renderErrorPage(description: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Authorization error — support-ext</title>
<style>${STYLE}</style></head><body><h1>This authorization request can't be served</h1>
<p class="msg">${escapeHtml(description)}</p><p>Nothing was sent to the application. Start again from the application.</p></body></html>`;
}

/**
 * An authorization request failed before anyone signed in, and its client is one that registered
 * itself: the error is shown here rather than sent there (error-redirects.ts). The user may still
 * go on to the application, which then learns the error; nothing else travels with it.
 */
export function renderUntrustedRedirectPage(m: {
  readonly error: string;
  readonly description: string | undefined;
  readonly redirectOrigin: string;
  readonly continueTo: string | undefined;
}): string {
  const onward = m.continueTo
    ? `<p>If you trust <code>${escapeHtml(m.redirectOrigin)}</code>, you can <a href="${escapeHtml(m.continueTo)}" rel="noreferrer">return to it with this error</a>. Otherwise close this page.</p>`
    : "<p>Nothing was sent to the application. Start again from the application.</p>";
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Authorization error — support-ext</title>
<style>${STYLE}</style></head><body><h1>This authorization request can't be served</h1>
<p class="msg" role="alert"><code>${escapeHtml(m.error)}</code>${m.description ? `: ${escapeHtml(m.description)}` : ""}</p>
<p>The request came from an application that registered itself with this server, and it failed before you signed in, so you were not sent on to <code>${escapeHtml(m.redirectOrigin)}</code> automatically.</p>
${onward}</body></html>`;
}

/**
 * Pages that show credentials forms: never framed (clickjacking), cached or leaked as a referrer to
 * another origin (`same-origin`: the form's own POST still carries its Origin, which `no-referrer`
 * would blank to `null` in Chromium).
 */
export const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  pragma: "no-cache",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  "referrer-policy": "same-origin",
  "x-content-type-options": "nosniff",
};

export function sendPage(
  res: HttpResponse,
  status: number,
  html: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  res.writeHead(status, { ...PAGE_HEADERS, "content-length": String(Buffer.byteLength(html)), ...headers });
  res.end(html);
}

export function sendRedirect(res: HttpResponse, location: string): void {
  // 303: the browser follows a POST's answer with a GET (OAuth 2.1 §7.5.1 warns against 307).
  res.writeHead(303, {
    location,
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "content-length": "0",
  });
  res.end();
}
