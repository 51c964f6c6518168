import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { dirtyStringIn, type TextRule } from "./clean-text.js";

/**
 * Every Connect service reads its request messages only after this check (the kit's service
 * server installs it; docs/architecture.md, "Input text"): a string field — any, at any depth —
 * that breaks `rule` is `invalid_argument`, so nothing of the kind reaches a handler or a store.
 * Streamed requests are checked message by message as the handler reads them.
 */
export function createCleanRpcInput(rule: TextRule = {}): Interceptor {
  const refuseDirty = (message: unknown): void => {
    const dirty = dirtyStringIn(message, rule, "request");
    if (dirty) throw new ConnectError(`invalid request: ${dirty}`, Code.InvalidArgument);
  };
  async function* checked<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
    for await (const message of messages) {
      refuseDirty(message);
      yield message;
    }
  }
  return (next) => async (req) => {
    if (!req.stream) {
      refuseDirty(req.message);
      return next(req);
    }
    return next({ ...req, message: checked(req.message) });
  };
}
