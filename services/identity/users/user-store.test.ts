import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES, type Role, SCOPES } from "#kit/contract/index.js";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { IDENTITY_MIGRATIONS } from "../migrations.js";
import { createUserStore, publicUser, type UserStore } from "./user-store.js";
import { insertUser } from "./user-writer.js";

/**
 * The identity provider's read side of users (user-store.ts), over its real database (PGlite in a
 * temporary DATA_DIR; a fresh schema on DATABASE_URL too): lookups by email are case- and
 * blank-insensitive, scopes come from roles through the kit's scope model, a missing user is
 * `undefined`, and only the login path ever sees the password hash.
 */
describe.each(testBackends("identity", IDENTITY_MIGRATIONS))("the user store on $name", (backend) => {
  let handle: TestDatabase;
  let db: Database;
  let users: UserStore;
  const ids: Record<string, string> = {};

  const add = async (email: string, roles: readonly Role[]) => {
    const id = await db.transaction((tx) =>
      insertUser(tx, {
        email,
        name: email.split("@")[0] ?? "",
        passwordHash: `hash-of-${email}`,
        roles,
      }),
    );
    if (!id) throw new Error(`${email} exists`);
    ids[email] = id;
    return id;
  };

  beforeAll(async () => {
    handle = await backend.open();
    db = handle.db;
    // The role names the product knows (seed-users.ts does the same at start), and one it gives no scope.
    for (const role of [...ROLES, "auditor"]) await db.query("INSERT INTO roles (name) VALUES ($1)", [role]);
    await add("alice@example.com", ["admin"]);
    await add("sam@example.com", ["support_agent"]);
    await add("vic@example.com", ["viewer"]);
    await add("multi@example.com", ["viewer", "support_agent"]);
    await add("nobody@example.com", []);
    const odd = await add("odd@example.com", ["viewer"]);
    await db.query("INSERT INTO user_roles (user_id, role) VALUES ($1, 'auditor')", [odd]);
    users = createUserStore(db);
  });
  afterAll(async () => {
    await handle?.close();
  });

  it("finds a user by email whatever its case and surrounding blanks", async () => {
    for (const typed of [
      "alice@example.com",
      "Alice@Example.COM",
      "  alice@example.com\t",
      " ALICE@EXAMPLE.COM ",
    ]) {
      expect((await users.findByEmail(typed))?.id, typed).toBe(ids["alice@example.com"]);
    }
  });

  it("matches the whole address only", async () => {
    for (const typed of [
      "alice@example.co",
      "lice@example.com",
      "alice@example.com.evil",
      "alice",
      "",
      "%",
    ]) {
      expect(await users.findByEmail(typed), typed).toBeUndefined();
    }
  });

  it("answers undefined for a user that does not exist", async () => {
    expect(await users.findByEmail("ghost@example.com")).toBeUndefined();
    expect(await users.findById("00000000-0000-0000-0000-000000000000")).toBeUndefined();
    expect(await users.findById("")).toBeUndefined();
  });

  it("derives scopes from roles through the scope model", async () => {
    const scopesOf = async (email: string) => (await users.findByEmail(email))?.scopes;
    expect(await scopesOf("alice@example.com")).toEqual([...SCOPES]);
    expect(await scopesOf("sam@example.com")).toEqual([
      "tickets:read",
      "tickets:write",
      "integrations:read",
      "system:read",
    ]);
    expect(await scopesOf("vic@example.com")).toEqual(["tickets:read", "integrations:read"]);
    expect(await users.findByEmail("alice@example.com")).toMatchObject({ roles: ["admin"] });
  });

  it("unites the scopes of several roles, in the scope model's order, with the roles sorted", async () => {
    const multi = await users.findByEmail("multi@example.com");
    expect(multi?.roles).toEqual(["support_agent", "viewer"]);
    expect(multi?.scopes).toEqual(["tickets:read", "tickets:write", "integrations:read", "system:read"]);
  });

  it("gives a user without roles no scopes, and a role the model does not know none either", async () => {
    const nobody = await users.findByEmail("nobody@example.com");
    expect(nobody).toMatchObject({ roles: [], scopes: [] });
    const odd = await users.findByEmail("odd@example.com");
    expect(odd?.roles).toEqual(["auditor", "viewer"]);
    expect(odd?.scopes).toEqual(["tickets:read", "integrations:read"]);
  });

  it("sees a role change at the next lookup", async () => {
    const id = await add("changing@example.com", ["viewer"]);
    expect((await users.findById(id))?.scopes).toEqual(["tickets:read", "integrations:read"]);
    await db.query("INSERT INTO user_roles (user_id, role) VALUES ($1, 'admin')", [id]);
    expect((await users.findById(id))?.scopes).toEqual([...SCOPES]);
    await db.query("DELETE FROM user_roles WHERE user_id = $1", [id]);
    expect(await users.findById(id)).toMatchObject({ roles: [], scopes: [] });
  });

  it("gives the password hash to the login lookup only: never by id, never in the public view", async () => {
    const byEmail = await users.findByEmail("sam@example.com");
    expect(byEmail?.passwordHash).toBe("hash-of-sam@example.com");
    const byId = await users.findById(ids["sam@example.com"] ?? "");
    expect(byId).toEqual({
      id: ids["sam@example.com"],
      email: "sam@example.com",
      name: "sam",
      roles: ["support_agent"],
      scopes: ["tickets:read", "tickets:write", "integrations:read", "system:read"],
    });
    expect(byEmail && Object.keys(publicUser(byEmail)).sort()).toEqual([
      "email",
      "id",
      "name",
      "roles",
      "scopes",
    ]);
  });
});
