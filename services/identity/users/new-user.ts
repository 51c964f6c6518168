import { Code, ConnectError } from "@connectrpc/connect";
import { ROLES, type Role } from "#kit/contract/index.js";
import { normalizeEmail } from "./user-store.js";

/** A user to create, checked and normalised: what the store writes (the password still in clear). */
export interface ValidNewUser {
  readonly email: string;
  readonly name: string;
  readonly password: string;
  readonly roles: readonly Role[];
}

/** What a request says about a user (the proto's NewUser, or a seed entry). */
export interface NewUserInput {
  readonly email: string;
  readonly name: string;
  readonly password: string;
  readonly roles: readonly string[];
}

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;
const EMAIL_MAX = 254;
const NAME_MAX = 200;
// Deliberately loose (one @, no blanks, a dot in the domain): the address is a login name here,
// never mailed to, and a stricter pattern would refuse real addresses.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const invalid = (where: string, what: string) => new ConnectError(`${where}: ${what}`, Code.InvalidArgument);

/** Checks one user; `where` names it in the error ("users[3]"). Bad input is `invalid_argument`. */
export function validateNewUser(input: NewUserInput | undefined, where: string): ValidNewUser {
  if (!input) throw invalid(where, "is required");
  const email = normalizeEmail(input.email);
  if (email.length > EMAIL_MAX || !EMAIL.test(email)) throw invalid(where, "email is not an email address");
  const password = input.password;
  // Counted in code points, as a person counts characters.
  const length = [...password].length;
  if (length < PASSWORD_MIN || length > PASSWORD_MAX) {
    throw invalid(where, `password must have ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`);
  }
  if (input.roles.length === 0) throw invalid(where, `roles: at least one of ${ROLES.join(", ")}`);
  const unknown = input.roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown.length > 0)
    throw invalid(where, `roles: unknown ${unknown.join(", ")} (known: ${ROLES.join(", ")})`);
  const name = input.name.trim() || (email.split("@")[0] ?? email);
  if (name.length > NAME_MAX) throw invalid(where, `name is longer than ${NAME_MAX} characters`);
  return { email, name, password, roles: [...new Set(input.roles as Role[])] };
}
