import type { HttpRequest } from "#kit/server/index.js";

/** Where the provider sends the browser to sign in: `/oauth2/interaction/<uid>`. */
export const INTERACTION_PREFIX = "/oauth2/interaction/";

/** The authorization request's parameters the provider keeps with the interaction. */
export interface InteractionParams {
  readonly client_id?: string;
  readonly redirect_uri?: string;
  readonly scope?: string;
  readonly resource?: string | string[];
}

export function requestedScopes(params: InteractionParams): string[] {
  return (params.scope ?? "").split(" ").filter(Boolean);
}

export function resourceOf(params: InteractionParams, fallback: string): string {
  const r = params.resource;
  return (Array.isArray(r) ? r[0] : r) ?? fallback;
}

export function header(req: HttpRequest, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === "string" ? value : undefined;
}

export function originOf(uri: string): string {
  try {
    const url = new URL(uri);
    return url.origin !== "null" ? url.origin : url.protocol;
  } catch {
    return "";
  }
}
