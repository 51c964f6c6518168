import { dirtyStringIn, STRICT } from "#kit/input/index.js";
import type { HttpRequest } from "#kit/server/index.js";
import { parseParameters, parseQuery } from "../../input/request-parameters.js";

/** What oidc-provider reads at most (its own body limit is 56 KiB; a little above, it refuses). */
const MAX_BODY_BYTES = 64 * 1024;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The request broke the input rule: answered 400 `invalid_request`, never handed on. */
export class RefusedInput extends Error {}

/**
 * Holds a request to the identity service's one input rule before the authorization server reads it
 * (docs/identity.md, "Malformed input"): the query and a form or JSON body with any control
 * character, ill-formed Unicode, bad percent-encoding or non-UTF-8 bytes are refused here, so no
 * such value reaches the provider or a store (PostgreSQL refuses NUL in text, lone surrogates in
 * jsonb). The body it read is handed on as `req.body`, which oidc-provider uses when the stream
 * has been consumed. Returns the parsed query.
 */
export async function checkRequest(req: HttpRequest): Promise<URLSearchParams> {
  const refuse = (description: string) => new RefusedInput(description);
  const query = parseQuery(req.url, refuse);
  if (req.method !== "POST" && req.method !== "PUT") return query;
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded" && type !== "application/json") return query;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw refuse("the request body is too large");
    chunks.push(chunk);
  }
  let text: string;
  try {
    text = utf8.decode(Buffer.concat(chunks));
  } catch {
    throw refuse("the request body is not UTF-8");
  }
  if (type === "application/json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw refuse("the request body is not JSON");
    }
    const dirty = dirtyStringIn(parsed, STRICT, "body");
    if (dirty) throw refuse(dirty);
  } else {
    parseParameters(text, refuse);
  }
  (req as HttpRequest & { body?: string }).body = text;
  return query;
}
