/**
 * `npm run load-users -- N`: makes load users 1..N on the RUNNING stack through the identity
 * provider's admin API (UserAdminService.CreateUsers, as the administrator), never by opening its
 * database. Virtual user n of a k6 script logs in as load user n (loadtest/README.md).
 *
 * Env: IDENTITY (http://127.0.0.1:8084, the identity service), ADMIN_EMAIL / ADMIN_PASSWORD (the
 * seeded admin, development default), LOAD_USER_PREFIX (load-user), LOAD_USER_PASSWORD
 * (load-user-dev-password), LOAD_USER_ROLE (support_agent: reads and writes tickets).
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { UserAdminService } from "#gen/supportext/auth/v1/user_admin_pb.js";
import { loadUserEmail, loadUserSettings } from "./load-user-settings.js";

const BATCH = 200; // UserAdminService's limit per call

const count = Number(process.argv[2]);
if (!Number.isInteger(count) || count < 1 || count > 10_000) {
  console.error("usage: npm run load-users -- N   (1 ≤ N ≤ 10000)");
  process.exit(2);
}
const settings = loadUserSettings(process.env);
const transport = createConnectTransport({ baseUrl: settings.identity, httpVersion: "1.1" });
const auth = createClient(AuthService, transport);
const admin = createClient(UserAdminService, transport);

try {
  const login = await auth.login({ email: settings.adminEmail, password: settings.adminPassword });
  const headers = { authorization: `Bearer ${login.tokens?.accessToken ?? ""}` };
  let created = 0;
  let existing = 0;
  for (let from = 1; from <= count; from += BATCH) {
    const users = [];
    for (let n = from; n < Math.min(from + BATCH, count + 1); n++) {
      users.push({
        email: loadUserEmail(settings.prefix, n),
        password: settings.password,
        roles: [settings.role],
      });
    }
    const res = await admin.createUsers({ users, skipExisting: true }, { headers });
    created += res.created.length;
    existing += res.existingEmails.length;
  }
  // Users left from an earlier run keep their password: check that the one given still opens them.
  await auth.login({ email: loadUserEmail(settings.prefix, count), password: settings.password });
  console.log(
    `load users ${loadUserEmail(settings.prefix, 1)} … ${loadUserEmail(settings.prefix, count)}: ${created} created, ${existing} already there (role ${settings.role})`,
  );
} catch (err) {
  console.error(
    `load-users: ${err instanceof Error ? err.message : String(err)} (IDENTITY=${settings.identity})`,
  );
  process.exit(1);
}
