import type { HttpRequest } from "#kit/server/index.js";
import { parseParameters } from "../input/request-parameters.js";
import { invalidRequest, OAuthError } from "./oauth-response.js";

/** Token requests are a few hundred bytes plus a JWT; anything far larger is not one. */
const MAX_FORM_BYTES = 64 * 1024;

/**
 * A parsed `application/x-www-form-urlencoded` body where every parameter appears at most once
 * (RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once").
 */
export type Form = ReadonlyMap<string, string>;

const utf8 = new TextDecoder("utf-8", { fatal: true });

export async function readForm(req: HttpRequest): Promise<Form> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw invalidRequest("the request body must be application/x-www-form-urlencoded");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new OAuthError(413, "invalid_request", "the request body is too large");
    chunks.push(chunk);
  }
  let text: string;
  try {
    text = utf8.decode(Buffer.concat(chunks));
  } catch {
    throw invalidRequest("the request body is not UTF-8");
  }
  const form = new Map<string, string>();
  for (const [name, value] of parseParameters(text, invalidRequest)) {
    if (form.has(name)) throw invalidRequest(`parameter "${name}" appears more than once`);
    form.set(name, value);
  }
  return form;
}
