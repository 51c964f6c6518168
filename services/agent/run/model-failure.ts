import { Code, ConnectError } from "@connectrpc/connect";
import { ModelError } from "../../kit/model/model-error.js";

/** A model call that failed, as the Connect error the caller of Run sees (no stack, no key). */
export function modelFailure(err: unknown): ConnectError {
  if (!(err instanceof ModelError))
    return new ConnectError("the model call failed unexpectedly", Code.Internal);
  switch (err.kind) {
    case "timeout":
      return new ConnectError(`model: ${err.message}`, Code.DeadlineExceeded);
    case "aborted":
      return new ConnectError(`model: ${err.message}`, Code.Canceled);
    case "unsupported":
      return new ConnectError(`model: ${err.message}`, Code.Unimplemented);
    default:
      return new ConnectError(`model: ${err.message}`, Code.Unavailable);
  }
}
