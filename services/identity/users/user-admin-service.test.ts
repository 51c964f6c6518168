import { randomBytes } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserAdminService } from "#gen/supportext/auth/v1/user_admin_pb.js";
import { testAgentDirectory } from "../testing/test-agents.js";
import { bearer, startTestIdentity, type TestIdentity } from "../testing/test-identity.js";
import { MAX_USERS_PER_CALL } from "./user-admin-service.js";

let chat: TestIdentity;
let admins: ReturnType<typeof createClient<typeof UserAdminService>>;
let adminToken: string;

beforeAll(async () => {
  chat = await startTestIdentity({}, { agentDirectory: testAgentDirectory() });
  admins = createClient(UserAdminService, createConnectTransport({ baseUrl: chat.url, httpVersion: "1.1" }));
  const login = await chat.auth.login({ email: "admin@company.com", password: chat.passwords.admin });
  adminToken = login.tokens?.accessToken ?? "";
});
afterAll(() => chat?.dispose());

const password = () => `pw-${randomBytes(12).toString("base64url")}`;
const unique = (tag: string) => `${tag}-${randomBytes(4).toString("hex")}@load.example.com`;

async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

describe("UserAdminService", () => {
  it("creates a user who can then log in with the roles and scopes given", async () => {
    const email = unique("one");
    const pw = password();
    const res = await admins.createUser(
      { user: { email: `  ${email.toUpperCase()} `, password: pw, roles: ["viewer"] } },
      bearer(adminToken),
    );
    expect(res.user).toMatchObject({ email, name: email.split("@")[0], roles: ["viewer"] });
    expect(res.user?.scopes).toEqual(["tickets:read", "integrations:read"]);
    const login = await chat.auth.login({ email, password: pw });
    expect(login.user?.id).toBe(res.user?.id);
    expect(login.user?.roles).toEqual(["viewer"]);
  });

  it("creates a batch, and with skip_existing leaves taken emails unchanged", async () => {
    const emails = [unique("b1"), unique("b2"), unique("b3")];
    const pw = password();
    const first = await admins.createUsers(
      { users: emails.slice(0, 2).map((email) => ({ email, password: pw, roles: ["support_agent"] })) },
      bearer(adminToken),
    );
    expect(first.created.map((u) => u.email)).toEqual(emails.slice(0, 2));
    expect(first.existingEmails).toEqual([]);

    const other = password();
    const again = await admins.createUsers(
      { users: emails.map((email) => ({ email, password: other, roles: ["admin"] })), skipExisting: true },
      bearer(adminToken),
    );
    expect(again.created.map((u) => u.email)).toEqual([emails[2]]);
    expect(again.existingEmails.sort()).toEqual(emails.slice(0, 2).sort());
    // The existing users keep their password and role.
    const kept = await chat.auth.login({ email: emails[0] as string, password: pw });
    expect(kept.user?.roles).toEqual(["support_agent"]);
  });

  it("refuses a taken email with already_exists and writes nothing of the batch", async () => {
    const fresh = unique("fresh");
    const code = await codeOf(
      admins.createUsers(
        {
          users: [
            { email: fresh, password: password(), roles: ["viewer"] },
            { email: "admin@company.com", password: password(), roles: ["viewer"] },
          ],
        },
        bearer(adminToken),
      ),
    );
    expect(code).toBe(Code.AlreadyExists);
    expect(await codeOf(chat.auth.login({ email: fresh, password: "anything-at-all" }))).toBe(
      Code.Unauthenticated,
    );
    expect(
      await codeOf(
        admins.createUser(
          { user: { email: "Admin@Company.com", password: password(), roles: ["admin"] } },
          bearer(adminToken),
        ),
      ),
    ).toBe(Code.AlreadyExists);
  });

  it("answers bad input with invalid_argument", async () => {
    const ok = { email: unique("bad"), password: password(), roles: ["viewer"] };
    const cases = [
      admins.createUser({}, bearer(adminToken)),
      admins.createUser({ user: { ...ok, email: "not-an-email" } }, bearer(adminToken)),
      admins.createUser({ user: { ...ok, password: "short" } }, bearer(adminToken)),
      admins.createUser({ user: { ...ok, password: "x".repeat(257) } }, bearer(adminToken)),
      admins.createUser({ user: { ...ok, roles: [] } }, bearer(adminToken)),
      admins.createUser({ user: { ...ok, roles: ["root"] } }, bearer(adminToken)),
      admins.createUser({ user: { ...ok, name: "n".repeat(201) } }, bearer(adminToken)),
      admins.createUsers({ users: [] }, bearer(adminToken)),
      admins.createUsers(
        { users: Array.from({ length: MAX_USERS_PER_CALL + 1 }, () => ok) },
        bearer(adminToken),
      ),
      admins.createUsers({ users: [ok, { ...ok, email: ok.email.toUpperCase() }] }, bearer(adminToken)),
    ];
    for (const call of cases) expect(await codeOf(call)).toBe(Code.InvalidArgument);
    expect(await codeOf(chat.auth.login({ email: ok.email, password: ok.password }))).toBe(
      Code.Unauthenticated,
    );
  });

  it("serves administrators only: other roles are refused, no token is unauthenticated", async () => {
    const user = { email: unique("nope"), password: password(), roles: ["admin"] };
    for (const [email, pw] of [
      ["agent@company.com", chat.passwords.agent],
      ["viewer@company.com", chat.passwords.viewer],
    ] as const) {
      const login = await chat.auth.login({ email, password: pw });
      const token = login.tokens?.accessToken ?? "";
      expect(await codeOf(admins.createUser({ user }, bearer(token)))).toBe(Code.PermissionDenied);
      expect(await codeOf(admins.createUsers({ users: [user] }, bearer(token)))).toBe(Code.PermissionDenied);
    }
    expect(await codeOf(admins.createUser({ user }))).toBe(Code.Unauthenticated);
    expect(await codeOf(chat.auth.login({ email: user.email, password: user.password }))).toBe(
      Code.Unauthenticated,
    );
  });

  it("never logs a password", async () => {
    const pw = password();
    await admins.createUser(
      { user: { email: unique("log"), password: pw, roles: ["viewer"] } },
      bearer(adminToken),
    );
    await codeOf(
      admins.createUser({ user: { email: "broken", password: pw, roles: ["viewer"] } }, bearer(adminToken)),
    );
    expect(chat.logs.lines.some((l) => l.includes("users created by an administrator"))).toBe(true);
    expect(chat.logs.lines.join("\n")).not.toContain(pw);
  });
});
