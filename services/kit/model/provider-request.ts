import { ModelError } from "./model-error.js";
import type { CompleteOptions } from "./types.js";

/** How much of an error body goes into the message: enough to diagnose, not a whole HTML page. */
const MAX_ERROR_BODY = 300;

export interface ProviderRequestSettings {
  /** The full URL of `/chat/completions`. */
  readonly endpoint: string;
  readonly timeoutMs: number;
  /** Sent as `Authorization: Bearer …` when set, and removed from every error message. */
  readonly apiKey?: string | undefined;
  readonly fetch: typeof fetch;
}

/** An answer with an OK status, and the mapping of any later failure (reading its body) to a ModelError. */
export interface ProviderResponse {
  readonly response: Response;
  readonly fail: (err: unknown) => ModelError;
}

/**
 * One POST of a JSON body to the provider, bounded by the timeout (streamed body included) and the
 * caller's signal. Resolves once the status is known and OK; every failure is a `ModelError` whose
 * message names the endpoint and never the API key.
 */
export type ProviderPost = (
  body: Record<string, unknown>,
  callOptions: CompleteOptions,
  accept: string,
) => Promise<ProviderResponse>;

export function providerPost(settings: ProviderRequestSettings): ProviderPost {
  const { endpoint, timeoutMs, apiKey } = settings;
  const scrub = (text: string) => (apiKey ? text.split(apiKey).join("[REDACTED]") : text);
  return async (body, callOptions, accept) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = callOptions.signal ? AbortSignal.any([timeout, callOptions.signal]) : timeout;
    const fail = (err: unknown) =>
      err instanceof ModelError ? err : failure(err, timeout, callOptions.signal, settings, scrub);
    let response: Response;
    try {
      response = await settings.fetch(endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept,
          ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
        },
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      throw fail(err);
    }
    if (!response.ok) {
      const text = await readText({ response, fail });
      throw new ModelError(
        "http",
        scrub(`model provider answered HTTP ${response.status} (POST ${endpoint}): ${errorDetail(text)}`),
        response.status,
      );
    }
    return { response, fail };
  };
}

/** The whole body as text; a failure while reading it is mapped like the request's own. */
export async function readText({ response, fail }: ProviderResponse): Promise<string> {
  try {
    return await response.text();
  } catch (err) {
    throw fail(err);
  }
}

function failure(
  err: unknown,
  timeout: AbortSignal,
  callerSignal: AbortSignal | undefined,
  { endpoint, timeoutMs }: ProviderRequestSettings,
  scrub: (t: string) => string,
): ModelError {
  if (callerSignal?.aborted)
    return new ModelError("aborted", `model request was cancelled (POST ${endpoint})`);
  if (timeout.aborted)
    return new ModelError(
      "timeout",
      `model provider did not answer within ${timeoutMs} ms (POST ${endpoint})`,
    );
  const cause =
    err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
  return new ModelError("network", scrub(`cannot reach the model provider (POST ${endpoint}): ${cause}`));
}

/** The provider's own error message when the body is the usual `{error: {message}}`, else the text. */
function errorDetail(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string };
    const msg = typeof parsed.error === "string" ? parsed.error : parsed.error?.message;
    if (typeof msg === "string" && msg) return msg.slice(0, MAX_ERROR_BODY);
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.trim().slice(0, MAX_ERROR_BODY) || "(empty body)";
}
