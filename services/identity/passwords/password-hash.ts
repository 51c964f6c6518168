import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

/**
 * scrypt password hashes (node:crypto), self-describing so the cost can be raised later without
 * invalidating stored hashes: `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>`.
 *
 * N = 2^15, r = 8 (32 MiB, ~150 ms on a small server) balances brute-force cost against login
 * latency and the thread pool a burst of logins occupies; OWASP's 2^17 takes ~600 ms here.
 */
export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

const KEY_LENGTH = 64;
const SALT_BYTES = 16;
// Node refuses scrypt when 128·N·r exceeds maxmem (default 32 MiB, exactly our default's need).
const maxmemFor = (params: ScryptParams) => 256 * params.N * params.r;

function derive(password: string, salt: Buffer, params: ScryptParams, keyLength: number): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: maxmemFor(params) };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFKC"), salt, keyLength, options, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT_PARAMS,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params, KEY_LENGTH);
  return ["scrypt", params.N, params.r, params.p, salt.toString("base64url"), key.toString("base64url")].join(
    "$",
  );
}

/**
 * Whether `password` matches `encoded`, compared in constant time. A malformed stored hash is a
 * mismatch, never an exception a caller could turn into a different answer.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0)) return false;
  const salt = Buffer.from(parts[4] ?? "", "base64url");
  const expected = Buffer.from(parts[5] ?? "", "base64url");
  if (expected.length === 0) return false;
  const actual = await derive(password, salt, { N, r, p }, expected.length);
  return timingSafeEqual(actual, expected);
}

/**
 * A hash of a random password nobody knows. Login verifies against it when the email is unknown,
 * so an unknown email costs the same scrypt work as a wrong password and timing reveals nothing.
 */
export function createDummyHash(params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  return hashPassword(randomBytes(32).toString("base64url"), params);
}
