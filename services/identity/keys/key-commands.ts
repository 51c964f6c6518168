import type { Config } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import { keySealerFrom, type SealingConfig } from "./key-sealing.js";
import {
  currentSigningKey,
  deleteSigningKey,
  generateSigningKey,
  insertSigningKey,
  listSigningKeyInfo,
  type SigningKeyInfo,
  sealedWithAnotherSecret,
  supersededAt,
} from "./signing-key-store.js";

/** How often a running identity service re-reads its keys (see key-ring.ts). */
export const KEY_RELOAD_INTERVAL_MS = 30_000;

export type KeyCommand =
  | { readonly kind: "rotate"; readonly now: boolean }
  | { readonly kind: "remove"; readonly kid: string }
  | { readonly kind: "prune" }
  | { readonly kind: "list" };

export type KeyTiming = Pick<
  Config,
  "ACCESS_TOKEN_TTL" | "MCP_TOKEN_TTL" | "CLOCK_TOLERANCE" | "JWKS_REFETCH_COOLDOWN"
>;

/** What the commands need of the configuration: the timing, and the secret keys are sealed with. */
export type KeyCommandSettings = KeyTiming & SealingConfig;

/** Thrown for a refused command (bad kid, would leave nothing to sign with): exit 1 with its message. */
export class KeyCommandError extends Error {
  override readonly name = "KeyCommandError";
}

/**
 * A new key is published at once but signs only after this delay, so every verifier can learn it
 * first: running identity replicas reload within KEY_RELOAD_INTERVAL_MS, and a verifier that fetched
 * the JWKS just before may refetch only after its cooldown.
 */
export function activationDelayMs(timing: KeyTiming): number {
  return KEY_RELOAD_INTERVAL_MS + timing.JWKS_REFETCH_COOLDOWN * 1000;
}

/**
 * How long after a key stopped signing its last token can still be valid: the longest token
 * lifetime plus clock tolerance. After that the key can be removed without refusing anyone.
 */
export function retirementHorizonMs(timing: KeyTiming): number {
  return (Math.max(timing.ACCESS_TOKEN_TTL, timing.MCP_TOKEN_TTL) + timing.CLOCK_TOLERANCE) * 1000;
}

/** Keys that stopped signing longer ago than the retirement horizon. */
export function prunableKeys(
  keys: readonly SigningKeyInfo[],
  timing: KeyTiming,
  now: Date,
): SigningKeyInfo[] {
  return keys.filter((k) => {
    const until = supersededAt(k, keys, now);
    return until !== undefined && until.getTime() + retirementHorizonMs(timing) <= now.getTime();
  });
}

/** Runs one key command against the identity database; returns the lines to print. */
export async function runKeyCommand(
  db: Database,
  command: KeyCommand,
  settings: KeyCommandSettings,
  now: Date = new Date(),
): Promise<string[]> {
  const timing: KeyTiming = settings;
  const out: string[] = [];
  switch (command.kind) {
    case "rotate": {
      const signsFrom = new Date(now.getTime() + (command.now ? 0 : activationDelayMs(timing)));
      const key = await generateSigningKey(signsFrom);
      const sealer = keySealerFrom(settings);
      // A key sealed with another secret than the service's would never open there.
      const others = await sealedWithAnotherSecret(db, sealer);
      if (others.length > 0) {
        throw new KeyCommandError(
          `refusing to add a key: the stored keys are sealed with another secret than this command's SIGNING_KEY_SECRET (${others.join(", ")}); run it with the identity service's SIGNING_KEY_SECRET`,
        );
      }
      await insertSigningKey(db, key, sealer);
      out.push(`added key ${key.kid}: published now, signs from ${signsFrom.toISOString()}`);
      out.push(...(await prune(db, timing, now)));
      break;
    }
    case "remove": {
      const keys = await listSigningKeyInfo(db);
      if (!keys.some((k) => k.kid === command.kid))
        throw new KeyCommandError(`no key with kid ${command.kid}`);
      const remaining = keys.filter((k) => k.kid !== command.kid);
      if (!currentSigningKey(remaining, now)) {
        throw new KeyCommandError(
          `refusing to remove ${command.kid}: no other key could sign; run with --now first to add one that signs at once`,
        );
      }
      await deleteSigningKey(db, command.kid);
      out.push(`removed key ${command.kid}: tokens it signed no longer verify`);
      break;
    }
    case "prune":
      out.push(...(await prune(db, timing, now)));
      break;
    case "list":
      break;
  }
  out.push(...describeKeys(await listSigningKeyInfo(db), timing, now));
  return out;
}

async function prune(db: Database, timing: KeyTiming, now: Date): Promise<string[]> {
  const out: string[] = [];
  for (const key of prunableKeys(await listSigningKeyInfo(db), timing, now)) {
    await deleteSigningKey(db, key.kid);
    out.push(`pruned key ${key.kid}: retired long enough that no token it signed is still valid`);
  }
  return out;
}

function describeKeys(keys: readonly SigningKeyInfo[], timing: KeyTiming, now: Date): string[] {
  const current = currentSigningKey(keys, now);
  const lines = [`${keys.length} key(s) published:`];
  for (const k of keys) {
    const until = supersededAt(k, keys, now);
    let state: string;
    if (k === current) state = "signing";
    else if (k.signsFrom > now) state = `next (signs from ${k.signsFrom.toISOString()})`;
    else if (until) {
      const prunable = new Date(until.getTime() + retirementHorizonMs(timing));
      state = `retired ${until.toISOString()} (verifies old tokens; prunable from ${prunable.toISOString()})`;
    } else state = "published";
    lines.push(`  ${k.kid}  ${k.alg}  ${state}`);
  }
  return lines;
}

/** Parses the command line of `npm run rotate-keys -- …`. */
export function parseKeyCommand(
  argv: readonly string[],
): { command: KeyCommand; schema?: string } | { help: string } {
  const help = [
    "usage: npm run rotate-keys -- [--now] | --list | --prune | --remove <kid>   [--schema <name>]",
    "  (no flag)       add a new signing key (published now, signs after a short delay) and prune expired keys",
    "  --now           the new key signs immediately",
    "  --list          show the keys",
    "  --prune         remove keys retired longer than the longest token lifetime",
    "  --remove <kid>  remove a key now (compromise): tokens it signed stop verifying",
    "  --schema <name> PostgreSQL schema (default: chat); tests use their own",
  ].join("\n");
  let command: KeyCommand = { kind: "rotate", now: false };
  let schema: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    // Taken as it is: a kid is base64url and may itself begin with "-" or "--".
    const value = () => {
      const v = argv[++i];
      if (!v) throw new KeyCommandError(`${arg} needs a value\n${help}`);
      return v;
    };
    switch (arg) {
      case "--now":
        command = { kind: "rotate", now: true };
        break;
      case "--list":
        command = { kind: "list" };
        break;
      case "--prune":
        command = { kind: "prune" };
        break;
      case "--remove":
        command = { kind: "remove", kid: value() };
        break;
      case "--schema":
        schema = value();
        break;
      case "--help":
      case "-h":
        return { help };
      default:
        throw new KeyCommandError(`unknown argument ${arg}\n${help}`);
    }
  }
  return schema ? { command, schema } : { command };
}
