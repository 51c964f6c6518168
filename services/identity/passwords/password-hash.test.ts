import { describe, expect, it } from "vitest";
import { createDummyHash, hashPassword, verifyPassword } from "./password-hash.js";

// Cheap parameters for the unit test; the default cost is exercised by every login test.
const FAST = { N: 1024, r: 8, p: 1 };

describe("scrypt password hashes", () => {
  it("verifies the right password and rejects others; every hash is salted", async () => {
    const hash = await hashPassword("correct horse", FAST);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(hash).not.toContain("correct horse");
    expect(await verifyPassword("correct horse", hash)).toBe(true);
    expect(await verifyPassword("correct horsE", hash)).toBe(false);
    expect(await hashPassword("correct horse", FAST)).not.toBe(hash);
  });

  it("reads the cost from the hash, so stored hashes survive a change of defaults", async () => {
    const strong = await hashPassword("pw-1234567", { N: 2048, r: 8, p: 1 });
    expect(await verifyPassword("pw-1234567", strong)).toBe(true);
  });

  it("treats malformed stored hashes as a mismatch, never an exception", async () => {
    for (const bad of ["", "plain", "scrypt$x$8$1$aa$bb", "bcrypt$1$2$3$4$5", "scrypt$1024$8$1$aa$"]) {
      expect(await verifyPassword("pw", bad)).toBe(false);
    }
  });

  it("normalises Unicode so the same typed password always matches", async () => {
    const hash = await hashPassword("caf\u00e9-pass", FAST);
    expect(await verifyPassword("cafe\u0301-pass", hash)).toBe(true);
  });

  it("makes a dummy hash nobody's password matches", async () => {
    const dummy = await createDummyHash(FAST);
    expect(await verifyPassword("", dummy)).toBe(false);
    expect(await verifyPassword("admin-dev-password", dummy)).toBe(false);
  });
});
