import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { UserAdminService } from "#gen/supportext/auth/v1/user_admin_pb.js";
import { scopesForRoles } from "#kit/contract/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { requirePrincipal } from "#kit/propagation/index.js";
import { hashPasswords } from "./hash-passwords.js";
import { type ValidNewUser, validateNewUser } from "./new-user.js";
import { EmailsTaken, existingEmails, insertUsers } from "./user-writer.js";

/** The role that may create users. */
export const USER_ADMIN_ROLE = "admin";
/** Users per CreateUsers call: each costs one scrypt hash (docs/identity.md), ~150 ms. */
export const MAX_USERS_PER_CALL = 200;

export interface UserAdminDeps {
  readonly db: Database;
  readonly logger: Logger;
}

/** The caller, if they hold the admin role: the verified principal's roles, never the request's. */
function requireAdmin(ctx: HandlerContext) {
  const admin = requirePrincipal(ctx);
  if (admin.anonymous || !admin.roles.includes(USER_ADMIN_ROLE)) {
    throw new ConnectError("creating users needs the admin role", Code.PermissionDenied);
  }
  return admin;
}

function takenError(emails: readonly string[]): ConnectError {
  const shown = emails.slice(0, 10).join(", ");
  return new ConnectError(
    `email already taken: ${shown}${emails.length > 10 ? ` and ${emails.length - 10} more` : ""}`,
    Code.AlreadyExists,
  );
}

/**
 * `supportext.auth.v1.UserAdminService`: an administrator adds users to the running identity
 * provider with their own access token (the way `npm run load-users` makes a load test's users),
 * so nobody needs to open the identity database. Passwords are hashed like every other (scrypt);
 * nothing is written unless every entry is valid.
 */
export function registerUserAdminService(router: ConnectRouter, deps: UserAdminDeps): void {
  async function create(users: readonly ValidNewUser[], skipExisting: boolean, adminId: string) {
    // Taken emails are found before hashing: refusing a batch must not cost its scrypt work.
    const taken = await existingEmails(
      deps.db,
      users.map((u) => u.email),
    );
    if (taken.size > 0 && !skipExisting) throw takenError([...taken]);
    const fresh = users.filter((u) => !taken.has(u.email));
    const hashes = await hashPasswords(fresh.map((u) => u.password));
    let result: Awaited<ReturnType<typeof insertUsers>>;
    try {
      result = await insertUsers(
        deps.db,
        fresh.map((u, i) => ({
          email: u.email,
          name: u.name,
          roles: u.roles,
          passwordHash: hashes[i] as string,
        })),
        skipExisting,
      );
    } catch (err) {
      // Taken meanwhile by a concurrent creator: the same answer as when found first.
      if (err instanceof EmailsTaken) throw takenError(err.emails);
      throw err;
    }
    const created = fresh.flatMap((u) => {
      const id = result.created.get(u.email);
      return id
        ? [{ id, email: u.email, name: u.name, roles: [...u.roles], scopes: scopesForRoles(u.roles) }]
        : [];
    });
    if (created.length > 0) {
      deps.logger.info(
        { admin_id: adminId, users: created.length, user_ids: created.slice(0, 20).map((u) => u.id) },
        "users created by an administrator",
      );
    }
    return { created, existing: [...taken, ...result.existing] };
  }

  router.service(UserAdminService, {
    async createUser(req, ctx) {
      const admin = requireAdmin(ctx);
      const user = validateNewUser(req.user, "user");
      const { created } = await create([user], false, admin.userId);
      return { user: created[0] };
    },
    async createUsers(req, ctx) {
      const admin = requireAdmin(ctx);
      if (req.users.length === 0 || req.users.length > MAX_USERS_PER_CALL) {
        throw new ConnectError(`users: 1 to ${MAX_USERS_PER_CALL} per call`, Code.InvalidArgument);
      }
      const users = req.users.map((u, i) => validateNewUser(u, `users[${i}]`));
      const seen = new Set<string>();
      for (const [i, u] of users.entries()) {
        if (seen.has(u.email))
          throw new ConnectError(`users[${i}]: email ${u.email} appears twice`, Code.InvalidArgument);
        seen.add(u.email);
      }
      const { created, existing } = await create(users, req.skipExisting, admin.userId);
      return { created, existingEmails: existing };
    },
  });
}
