import { hashPassword } from "../passwords/password-hash.js";

/**
 * Hashes passwords at most `parallel` at a time. Each scrypt takes a libuv thread for ~150 ms
 * (docs/identity.md): a batch of users must leave threads for the logins served meanwhile.
 */
export async function hashPasswords(passwords: readonly string[], parallel = 2): Promise<string[]> {
  const hashes: string[] = new Array(passwords.length);
  let next = 0;
  const worker = async () => {
    while (next < passwords.length) {
      const i = next++;
      hashes[i] = await hashPassword(passwords[i] as string);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, passwords.length) }, worker));
  return hashes;
}
