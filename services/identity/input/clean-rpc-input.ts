import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { dirtyStringIn } from "./clean-text.js";

/**
 * The identity service's RPCs (AuthService, UserAdminService, …) read their request messages only
 * after this check: a string field — any, at any depth — holding a control character or ill-formed
 * Unicode is `invalid_argument` (docs/identity.md, "Malformed input"), the same rule the HTTP
 * endpoints apply to their parameters (clean-text.ts), so nothing of the kind reaches a store.
 */
export const cleanRpcInput: Interceptor = (next) => async (req) => {
  if (!req.stream) {
    refuseDirty(req.message);
    return next(req);
  }
  return next({ ...req, message: checked(req.message) });
};

function refuseDirty(message: unknown): void {
  const dirty = dirtyStringIn(message, "request");
  if (dirty) throw new ConnectError(`invalid request: ${dirty}`, Code.InvalidArgument);
}

async function* checked<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  for await (const message of messages) {
    refuseDirty(message);
    yield message;
  }
}
