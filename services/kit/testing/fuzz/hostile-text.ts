import type { Random } from "./seeded-random.js";

/**
 * Hostile text shared by the fuzz tests (docs/architecture.md, "Input text"): what the kit's text
 * rule must refuse, and text it must let through to the handlers.
 */

/** Control characters as a fuzz mixes them into values: TAB, LF and CR too (free text has those). */
export const CONTROLS = [
  "\u0000",
  "\u0001",
  "\u0007",
  "\t",
  "\n",
  "\r\n",
  "\u001b",
  "\u007f",
  "\u0085",
  "\u009f",
];
/** Unicode that is well-formed and printable but unusual (bidi overrides, BOM, combining marks). */
export const UNICODE = ["é", "😀", "\u202e", "\u2028", "\ufeff", "\ufffd", "Ω≈ç√", "\u0301"];
/** What even the default rule refuses: NUL, the other C0 controls but TAB/LF/CR, DEL, C1. */
export const REFUSED_CONTROLS = [
  "\u0000",
  "\u0001",
  "\u0007",
  "\u0008",
  "\u000b",
  "\u000c",
  "\u001b",
  "\u001f",
  "\u007f",
  "\u0080",
  "\u0085",
  "\u009f",
];
/** UTF-16 halves without their partner: not Unicode text (JSON can carry them, UTF-8 cannot). */
export const LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"];

/** `value` with a control character (NUL most often) put somewhere in it. */
export function tainted(r: Random, value: string): string {
  const chars = Array.from(value);
  const at = r.int(chars.length + 1);
  return [...chars.slice(0, at), r.chance(0.5) ? "\u0000" : r.pick(CONTROLS), ...chars.slice(at)].join("");
}

/**
 * Text every service must refuse (`invalid_argument`): printable text around a refused control
 * or, when `surrogates` (the encoding can carry them), a lone surrogate; sometimes very long.
 */
export function refusedText(r: Random, surrogates: boolean): string {
  const bad = surrogates && r.chance(0.25) ? r.pick(LONE_SURROGATES) : r.pick(REFUSED_CONTROLS);
  const around = r.chance(0.1) ? "x".repeat(r.pick([2_000, 20_000])) : r.pick(["", "a", "ticket ", "é"]);
  return r.chance(0.5) ? `${around}${bad}` : `${bad}${around}`;
}

/**
 * Text the rule lets through but that is hostile further in: very long, JSON whose escapes decode
 * to NUL or a lone surrogate, unusual Unicode, line breaks, nothing at all.
 */
export function passingText(r: Random): string {
  switch (r.int(7)) {
    case 0:
      return "x".repeat(r.pick([300, 5_000, 70_000]));
    case 1:
      return JSON.stringify({ title: "a\u0000b", query: "\ud800", k: ["\u001b"] });
    case 2:
      return `{"title":"\\u0000","description":"\\udfff"}`;
    case 3:
      return `line 1\r\n\tline 2${r.pick(UNICODE)}`;
    case 4:
      return r.pick(UNICODE).repeat(1 + r.int(50));
    case 5:
      return "";
    default:
      return `plain ${r.int(1e6)}`;
  }
}
