import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createLogger } from "#kit/log/index.js";
import { hashPassword } from "../passwords/password-hash.js";
import { createLoginThrottle } from "../throttle/login-throttle.js";
import type { UserStore } from "../users/user-store.js";
import { createLogin } from "./login.js";

/**
 * A burst of concurrent guesses from one address (docs/identity.md, "Throttling"): every one of
 * them used to pass the check before hashing, so the burst cost one password hash each and held up
 * every other login behind them; only the answers were limited. Now an attempt is admitted only
 * while the failures counted plus the attempts under way stay under the limits.
 */
describe("a burst of concurrent wrong passwords from one address", () => {
  it("costs at most as many password checks as the limits allow, and the rest are refused at once", async () => {
    const hash = await hashPassword("the-right-password");
    let looked = 0;
    const users: UserStore = {
      async findByEmail() {
        looked++;
        return { id: "u1", email: "agent@company.com", role: "agent", passwordHash: hash } as never;
      },
      findById: async () => undefined,
    };
    const login = createLogin({
      users,
      throttle: createLoginThrottle({ windowMs: 60_000, maxFailuresPerEmail: 3, maxFailuresPerAddress: 5 }),
      sessions: { open: async () => Promise.reject(new Error("no session is opened by a wrong password")) },
      dummyHash: hashPassword("dummy"),
      logger: createLogger({ service: "test", level: "silent" }),
    });
    const codes = await Promise.all(
      Array.from({ length: 30 }, () =>
        login("agent@company.com", "a-wrong-guess", "198.51.100.9").then(
          () => "ok",
          (err: unknown) => ConnectError.from(err).code,
        ),
      ),
    );
    expect(looked).toBe(3);
    expect(codes.filter((c) => c === Code.Unauthenticated)).toHaveLength(3);
    expect(codes.filter((c) => c === Code.ResourceExhausted)).toHaveLength(27);
    // Another address is not refused for this one's burst.
    await expect(login("agent@company.com", "the-right-password", "198.51.100.10")).rejects.toThrow(
      "no session is opened by a wrong password",
    );
  });
});

describe("a burst of concurrent right passwords from one address (many people behind one NAT)", () => {
  it("queues them past the limits' places and lets every one in", async () => {
    const hash = await hashPassword("the-right-password");
    const users: UserStore = {
      findByEmail: async (email) => ({ id: email, email, role: "agent", passwordHash: hash }) as never,
      findById: async () => undefined,
    };
    let opened = 0;
    const login = createLogin({
      users,
      throttle: createLoginThrottle({ windowMs: 60_000, maxFailuresPerEmail: 3, maxFailuresPerAddress: 5 }),
      sessions: { open: async () => ({ sessionId: `s${++opened}` }) as never },
      dummyHash: hashPassword("dummy"),
      logger: createLogger({ service: "test", level: "silent" }),
    });
    const logins = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        login(`person${i % 10}@company.com`, "the-right-password", "203.0.113.1"),
      ),
    );
    expect(logins).toHaveLength(30);
    expect(opened).toBe(30);
  });
});
