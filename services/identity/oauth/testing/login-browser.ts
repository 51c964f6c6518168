import { createHash, randomBytes } from "node:crypto";

/** A PKCE pair as a client makes it (RFC 7636 §4.1–4.2, S256). */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

/** The hidden and named inputs of the page's form, as a browser would submit them. */
export function formFields(html: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields.set(decodeEntities(m[1] ?? ""), decodeEntities(m[2] ?? ""));
  }
  return fields;
}

const decodeEntities = (s: string) =>
  s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));

export interface PageVisit {
  readonly status: number;
  readonly html: string;
  /** `name=value` of the CSRF cookie the page set. */
  readonly cookie: string | undefined;
  readonly location: string | null;
}

/** GETs an authorization URL without following redirects, as a browser's first request. */
export async function openAuthorizePage(url: string): Promise<PageVisit> {
  const res = await fetch(url, { redirect: "manual" });
  const setCookie = res.headers.get("set-cookie");
  return {
    status: res.status,
    html: await res.text(),
    cookie: setCookie?.split(";")[0],
    location: res.headers.get("location"),
  };
}

/**
 * Submits the login form of `page` with the user's credentials (and the page's cookie, unless
 * `cookie: null`), as a browser does; returns where the server redirects to.
 */
export async function submitLogin(
  postUrl: string,
  page: PageVisit,
  credentials: { email: string; password: string; decision?: "allow" | "deny" },
  options: { cookie?: string | null; override?: Record<string, string>; origin?: string } = {},
): Promise<PageVisit> {
  const fields = formFields(page.html);
  fields.set("email", credentials.email);
  fields.set("password", credentials.password);
  fields.set("decision", credentials.decision ?? "allow");
  for (const [k, v] of Object.entries(options.override ?? {})) fields.set(k, v);
  const cookie = options.cookie === null ? undefined : (options.cookie ?? page.cookie);
  const res = await fetch(postUrl, {
    method: "POST",
    redirect: "manual",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(cookie ? { cookie } : {}),
      ...(options.origin !== undefined ? { origin: options.origin } : {}),
    },
    body: new URLSearchParams([...fields]).toString(),
  });
  // A re-rendered page (wrong password) carries a fresh CSRF value and cookie: the next post uses them.
  return {
    status: res.status,
    html: await res.text(),
    cookie: res.headers.get("set-cookie")?.split(";")[0],
    location: res.headers.get("location"),
  };
}

/** Logs in through the page in one go: the redirect back to the client. */
export async function loginThroughPage(
  authorizeUrl: string,
  credentials: { email: string; password: string },
): Promise<URL> {
  const page = await openAuthorizePage(authorizeUrl);
  if (page.status !== 200)
    throw new Error(`authorize page answered ${page.status}: ${page.html.slice(0, 300)}`);
  const done = await submitLogin(
    new URL(authorizeUrl).origin + new URL(authorizeUrl).pathname,
    page,
    credentials,
  );
  if (!done.location) throw new Error(`login answered ${done.status} without a redirect`);
  return new URL(done.location);
}
