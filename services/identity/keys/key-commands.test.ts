import { describe, expect, it } from "vitest";
import { parseKeyCommand, prunableKeys, retirementHorizonMs } from "./key-commands.js";
import { currentSigningKey, type StoredSigningKey, supersededAt } from "./signing-key-store.js";

const timing = { ACCESS_TOKEN_TTL: 900, MCP_TOKEN_TTL: 300, CLOCK_TOLERANCE: 5, JWKS_REFETCH_COOLDOWN: 30 };
const at = (min: number) => new Date(Date.UTC(2026, 0, 1, 0, min));
const key = (kid: string, signsFromMin: number): StoredSigningKey => ({
  kid,
  alg: "ES256",
  publicJwk: { kid },
  privateJwk: { kid },
  createdAt: at(signsFromMin),
  signsFrom: at(signsFromMin),
});

describe("key lifecycle", () => {
  const k1 = key("k1", 0);
  const k2 = key("k2", 60);
  const k3 = key("k3", 120); // scheduled
  const keys = [k1, k2, k3];

  it("the newest key whose start has passed signs", () => {
    expect(currentSigningKey(keys, at(30))?.kid).toBe("k1");
    expect(currentSigningKey(keys, at(90))?.kid).toBe("k2");
    expect(currentSigningKey(keys, at(130))?.kid).toBe("k3");
  });

  it("a key is superseded when a later key starts signing", () => {
    expect(supersededAt(k1, keys, at(90))).toEqual(at(60));
    expect(supersededAt(k2, keys, at(90))).toBeUndefined(); // k3 has not started
    expect(supersededAt(k2, keys, at(130))).toEqual(at(120));
  });

  it("prunes a key only once every token it signed has expired", () => {
    expect(retirementHorizonMs(timing)).toBe(905_000);
    expect(prunableKeys(keys, timing, at(70))).toEqual([]); // k1's last tokens still live
    expect(prunableKeys(keys, timing, new Date(at(60).getTime() + 905_000)).map((k) => k.kid)).toEqual([
      "k1",
    ]);
  });
});

describe("rotate-keys command line", () => {
  it("parses the commands", () => {
    expect(parseKeyCommand([])).toEqual({ command: { kind: "rotate", now: false } });
    expect(parseKeyCommand(["--now"])).toEqual({ command: { kind: "rotate", now: true } });
    expect(parseKeyCommand(["--remove", "abc", "--schema", "s1"])).toEqual({
      command: { kind: "remove", kid: "abc" },
      schema: "s1",
    });
    expect(parseKeyCommand(["--help"])).toHaveProperty("help");
    expect(() => parseKeyCommand(["--remove"])).toThrow(/needs a value/);
    // A kid is base64url: it may begin with dashes (one key in 4,096 begins with two).
    expect(parseKeyCommand(["--remove", "--Zx9_kid"])).toEqual({
      command: { kind: "remove", kid: "--Zx9_kid" },
    });
    expect(() => parseKeyCommand(["--bogus"])).toThrow(/unknown argument/);
  });
});
