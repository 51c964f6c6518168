import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Which callers a procedure accepts (docs/architecture.md, "Who may call what"). Every service
 * declares its rules; the kit's authentication gate enforces them with the user's token, in one place.
 */
export interface CallerRule {
  /** Service ids whose credential (`x-service-authorization`) is accepted. */
  readonly services: readonly string[];
  /** The user's token: must be present, may be, or is not needed (a service acting as itself). */
  readonly user: "required" | "optional" | "none";
  /** The calling service must prove the registered agent it runs (`agent` claim). */
  readonly agentRequired?: boolean;
  /** Users may also call without any service credential (the edge; a development option). */
  readonly directUsers?: boolean;
}

/** Rules by "pkg.Service/Method" or "pkg.Service" (the method's rule wins). */
export type CallerRules = Readonly<Record<string, CallerRule>>;

/** Procedures without a rule serve users directly, as the edge does. */
export const DIRECT_USERS: CallerRule = Object.freeze({ services: [], user: "required", directUsers: true });

export function ruleFor(rules: CallerRules | undefined, typeName: string, method: string): CallerRule {
  return rules?.[`${typeName}/${method}`] ?? rules?.[typeName] ?? DIRECT_USERS;
}

/** Refusal of a verified caller the rule does not admit: they are known, just not allowed here. */
export function notAllowed(procedure: string, rule: CallerRule, who: string): ConnectError {
  const accepted = rule.services.length > 0 ? `services ${rule.services.join(", ")}` : "no service";
  return new ConnectError(
    `${procedure} may not be called by ${who} (accepted: ${accepted})`,
    Code.PermissionDenied,
  );
}
