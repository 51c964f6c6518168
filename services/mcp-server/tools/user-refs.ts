import type { Queryable } from "#kit/db/index.js";
import { type DirectoryUser, findUser, someUserEmails } from "../data/users.js";
import { resolveMe, userRef } from "./shapes.js";
import { ToolError } from "./tool.js";

/** A user the directory knows (seeded, or seen in a verified token), or an `unknown_user` error. */
export async function knownUser(q: Queryable, ref: string, callerId: string): Promise<DirectoryUser> {
  const user = await findUser(q, resolveMe(ref, callerId));
  if (user) return user;
  const known = await someUserEmails(q, 10);
  throw new ToolError(
    "unknown_user",
    `no known user "${ref}"; assignees must be seeded users or users who have signed in (known: ${known.join(", ") || "none"})`,
  );
}

export const assigneeFilter = userRef.describe(
  'Assignee: a user id, an email, "me", or "none" for unassigned tickets',
);

/** A filter value to an assignee id; "none"/"unassigned" → null (unassigned tickets). */
export async function assigneeIdFilter(q: Queryable, ref: string, callerId: string): Promise<string | null> {
  if (/^(none|unassigned)$/i.test(ref)) return null;
  return (await knownUser(q, ref, callerId)).id;
}

/** `created_by` filter: "me", an email known to the directory, or a raw user id. */
export async function creatorIdFilter(q: Queryable, ref: string, callerId: string): Promise<string> {
  const resolved = resolveMe(ref, callerId);
  if (!resolved.includes("@")) return resolved;
  return (await knownUser(q, resolved, callerId)).id;
}
