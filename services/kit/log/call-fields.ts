/**
 * The fields every line written during a call carries (`trace_id`, `span_id`, `request_id`,
 * `user_id`, …; docs/architecture.md, "The kit"). The call scope belongs to `propagation`, a module
 * above this one, so propagation hands the logger its fields when it loads instead of the logger
 * reaching up for the scope: before that no call scope can exist, and lines carry none.
 */
export type CallFields = () => Record<string, unknown>;

let fieldsOfCurrentCall: CallFields = () => ({});

/** Sets where per-call fields come from (the call scope's owner, once per process). */
export function provideCallFields(fields: CallFields): void {
  fieldsOfCurrentCall = fields;
}

/** The current call's fields; none outside a call. */
export function callFields(): Record<string, unknown> {
  return fieldsOfCurrentCall();
}
