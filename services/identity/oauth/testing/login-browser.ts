import { createHash, randomBytes } from "node:crypto";

/** A PKCE pair as a client makes it (RFC 7636 §4.1–4.2, S256). */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

/**
 * The HTTP a browser does around the sign-in page, for tests that check the protocol rather than
 * the page (the page itself is driven in Chromium: browser-login.test.ts): cookies kept, redirects
 * followed while they stay on the server (`base`), the form posted to its own action.
 */
export interface PageVisit {
  readonly status: number;
  readonly html: string;
  /** Where the server finally sent the browser off the server (the client's redirect URI), if it did. */
  readonly location: string | null;
  /** The URL of the page shown (the sign-in page), when one was shown. */
  readonly pageUrl: string | undefined;
  /** The answer's Retry-After header, if it had one. */
  readonly retryAfter: string | null;
  readonly jar: CookieJar;
}

export class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair?.indexOf("=") ?? -1;
      if (!pair || eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  clear(): void {
    this.cookies.clear();
  }
}

/** Follows the server's redirects from `url` (a GET), keeping cookies, until a page or a redirect off the server. */
async function walk(base: string, url: string, jar: CookieJar, first?: RequestInit): Promise<PageVisit> {
  let next = url;
  let init: RequestInit | undefined = first;
  for (let hops = 0; hops < 10; hops++) {
    const cookie = jar.header();
    const res = await fetch(next, {
      redirect: "manual",
      ...init,
      headers: { ...(init?.headers as Record<string, string> | undefined), ...(cookie ? { cookie } : {}) },
    });
    jar.take(res);
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      const target = new URL(location, next);
      if (!sameServer(base, target))
        return {
          status: res.status,
          html: await res.text(),
          location: target.href,
          pageUrl: undefined,
          retryAfter: res.headers.get("retry-after"),
          jar,
        };
      next = target.href;
      init = undefined;
      continue;
    }
    return {
      status: res.status,
      html: await res.text(),
      location: null,
      pageUrl: next,
      retryAfter: res.headers.get("retry-after"),
      jar,
    };
  }
  throw new Error(`more than 10 redirects from ${url}`);
}

/** GETs an authorization URL as a browser's first request, through to the sign-in page (or a redirect back). */
export function openAuthorizePage(
  url: string,
  base = new URL(url).origin,
  jar = new CookieJar(),
): Promise<PageVisit> {
  return walk(base, url, jar);
}

/** The form's action on the page shown. */
export function formAction(page: PageVisit): string {
  const action = /<form method="post" action="([^"]+)"/.exec(page.html)?.[1];
  if (!action || !page.pageUrl) throw new Error(`no sign-in form on the page (HTTP ${page.status})`);
  return new URL(
    action.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))),
    page.pageUrl,
  ).href;
}

/**
 * Submits the sign-in form of `page` as a browser does (its cookies, unless `cookies: false`);
 * follows the server's redirects; returns where the browser ends up.
 */
export async function submitLogin(
  page: PageVisit,
  credentials: { email: string; password: string; decision?: "allow" | "deny" },
  options: { cookies?: boolean; origin?: string } = {},
): Promise<PageVisit> {
  const action = formAction(page);
  const base = new URL(action).origin;
  const jar = options.cookies === false ? new CookieJar() : page.jar;
  const form = new URLSearchParams({
    email: credentials.email,
    password: credentials.password,
    decision: credentials.decision ?? "allow",
  });
  return walk(base, action, jar, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(options.origin !== undefined ? { origin: options.origin } : {}),
    },
    body: form.toString(),
  });
}

/** Signs in through the page in one go: the redirect back to the client. */
export async function loginThroughPage(
  authorizeUrl: string,
  credentials: { email: string; password: string },
): Promise<URL> {
  const page = await openAuthorizePage(authorizeUrl);
  if (page.status !== 200 || page.location) {
    throw new Error(
      `authorize page answered ${page.status} ${page.location ?? ""}: ${page.html.slice(0, 300)}`,
    );
  }
  const done = await submitLogin(page, credentials);
  if (!done.location)
    throw new Error(`login answered ${done.status} without a redirect: ${done.html.slice(0, 300)}`);
  return new URL(done.location);
}

function sameServer(base: string, target: URL): boolean {
  return target.origin === new URL(base).origin;
}
