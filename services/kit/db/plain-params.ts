import type { PlainParam } from "./types.js";

/**
 * Refuses, before anything is sent, a parameter of `Transaction.send` that is not a plain value. A
 * plain value is one the driver cannot fail to encode; a statement it failed to encode would never
 * reach the server, and the COMMIT sent behind it would commit the transaction without it.
 */
export function assertPlainParams(
  params: readonly unknown[] | undefined,
): asserts params is readonly PlainParam[] | undefined {
  for (const [i, value] of (params ?? []).entries()) {
    const kind = typeof value;
    if (value === null || kind === "string" || kind === "number" || kind === "boolean") continue;
    throw new TypeError(
      `tx.send: parameter $${i + 1} is ${value === undefined ? "undefined" : kind}; only text, numbers, booleans and null are sent unawaited`,
    );
  }
}
