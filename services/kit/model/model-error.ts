/**
 * Why a model call failed, as a stable code callers can branch on (retry a timeout, report an
 * `http` 401 as a configuration problem, …). Messages never contain the API key.
 */
export type ModelErrorKind =
  | "timeout"
  | "aborted"
  | "network"
  | "http"
  | "bad_response"
  /** The embedded provider has no skill for this request. */
  | "unsupported";

export class ModelError extends Error {
  override readonly name = "ModelError";
  constructor(
    readonly kind: ModelErrorKind,
    message: string,
    /** HTTP status, for `http`. */
    readonly status?: number,
  ) {
    super(message);
  }
}
