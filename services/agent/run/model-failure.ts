import { Code, ConnectError } from "@connectrpc/connect";
import { ModelError } from "#kit/model/index.js";

/**
 * A model call that failed, as the Connect error the caller of Run sees: what happened, in words
 * an extension user may read — never a stack, a key, or the provider's endpoint (those stay in the
 * error's `cause`, which the agent logs).
 */
export function modelFailure(err: unknown): ConnectError {
  if (!(err instanceof ModelError)) {
    return new ConnectError("the model call failed unexpectedly", Code.Internal, undefined, undefined, err);
  }
  const fail = (message: string, code: Code) =>
    new ConnectError(`model: ${message}`, code, undefined, undefined, err);
  switch (err.kind) {
    case "timeout":
      return fail("the model did not answer in time", Code.DeadlineExceeded);
    case "aborted":
      return fail("the model request was cancelled", Code.Canceled);
    case "unsupported":
      // The embedded model's own explanation (what it can do, how to configure another): no secrets.
      return fail(err.message, Code.Unimplemented);
    default:
      return fail(
        `the model provider failed (${err.kind}${err.status ? ` ${err.status}` : ""})`,
        Code.Unavailable,
      );
  }
}
