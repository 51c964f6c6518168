import { Code } from "@connectrpc/connect";

/** Connect's wire name of a code: Code.PermissionDenied → "permission_denied". */
export function codeName(code: Code): string {
  const name = Code[code] ?? "Unknown";
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}
