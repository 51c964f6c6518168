import type { ChatRequest } from "#kit/model/index.js";
import { type EmbeddedSkill, lastUserText } from "#kit/model/index.js";
import { TICKET_TRIAGE_TASK, TRIAGE_TITLE_MAX } from "./ticket-triage.js";

/**
 * Deterministic ticket triage by keywords: good enough to file "the VPN is down, urgent!" as an
 * urgent network ticket without a model. Recognises the task by its JSON schema name and answers
 * only with values that schema allows.
 */
export const ticketTriageSkill: EmbeddedSkill = {
  name: TICKET_TRIAGE_TASK,
  answer(request) {
    const format = request.responseFormat;
    if (format?.type !== "json_schema" || format.name !== TICKET_TRIAGE_TASK) return undefined;
    const text = lastUserText(request) ?? "";
    const allowed = allowedValues(request);
    return {
      content: JSON.stringify({
        title: triageTitle(text),
        category: triageCategory(text, allowed.categories),
        priority: triagePriority(text, allowed.priorities),
      }),
    };
  },
};

// ---- priority ----------------------------------------------------------------------------------

type PriorityClass = "urgent" | "high" | "medium" | "low";

const EXPLICIT_PRIORITY =
  /\b(?:(urgent|critical|high|medium|normal|low)[\s-]+priority|priority\s*[:=]?\s*(urgent|critical|high|medium|normal|low))\b/i;
const P_LEVEL = /\b[ps]([0-3])\b/i;
const URGENT = [
  /\burgent(ly)?\b/i,
  /\basap\b/i,
  /\bemergency\b/i,
  /\bon fire\b/i,
  /\boutage\b/i,
  /\bcritical\b/i,
  /\bdown\b/i,
  /\bimmediately\b/i,
  /\bdata loss\b/i,
  /\bsecurity (breach|incident)\b/i,
];
const HIGH = [
  /\bbroken\b/i,
  /\bnot working\b/i,
  /\b(doesn'?t|does not|won'?t|will not) work\b/i,
  /\b(can'?t|cannot|unable to)\b/i,
  /\bcrash(es|ed|ing)?\b/i,
  /\berrors?\b/i,
  /\bfail(s|ed|ing|ure)?\b/i,
  /\bblocked\b/i,
  /\bimportant\b/i,
];
const LOW = [
  /\bno rush\b/i,
  /\bwhenever\b/i,
  /\bwhen you (have|get) (the )?time\b/i,
  /\bminor\b/i,
  /\bcosmetic\b/i,
  /\btypo\b/i,
  /\bnice to have\b/i,
  /\bquestion\b/i,
  /\bhow (do|can) i\b/i,
  /\bsuggestion\b/i,
  /\bfeature request\b/i,
];

function priorityClass(text: string): PriorityClass {
  const explicit = EXPLICIT_PRIORITY.exec(text);
  const word = (explicit?.[1] ?? explicit?.[2])?.toLowerCase();
  if (word) return word === "critical" ? "urgent" : word === "normal" ? "medium" : (word as PriorityClass);
  const level = P_LEVEL.exec(text)?.[1];
  if (level) return (["urgent", "high", "medium", "low"] as const)[Number(level)] ?? "medium";
  if (URGENT.some((r) => r.test(text))) return "urgent";
  if (HIGH.some((r) => r.test(text))) return "high";
  if (LOW.some((r) => r.test(text))) return "low";
  return "medium";
}

/** Nearest allowed value: a vocabulary without "urgent" gets "high", and so on. */
const PRIORITY_FALLBACKS: Record<PriorityClass, PriorityClass[]> = {
  urgent: ["urgent", "high", "medium"],
  high: ["high", "urgent", "medium"],
  medium: ["medium", "low", "high"],
  low: ["low", "medium"],
};

export function triagePriority(text: string, allowed: readonly string[]): string {
  const wanted = PRIORITY_FALLBACKS[priorityClass(text)];
  return wanted.find((p) => allowed.includes(p)) ?? allowed[0] ?? "medium";
}

// ---- category ----------------------------------------------------------------------------------

/** In tie-break order: the more specific categories first. */
const CATEGORY_KEYWORDS: readonly (readonly [string, readonly RegExp[]])[] = [
  [
    "billing",
    [
      /\binvoices?\b/i,
      /\bbill(ing|ed)?\b/i,
      /\brefunds?\b/i,
      /\bcharged?\b/i,
      /\bpayments?\b/i,
      /\bsubscriptions?\b/i,
      /\bpric(e|es|ing)\b/i,
      /\bcredit card\b/i,
      /\breceipts?\b/i,
    ],
  ],
  [
    "account",
    [
      /\blog ?in\b/i,
      /\bsign ?in\b/i,
      /\bpasswords?\b/i,
      /\blocked out\b/i,
      /\baccounts?\b/i,
      /\b(2fa|mfa|two[- ]factor|sso)\b/i,
      /\bpermissions?\b/i,
      /\baccess denied\b/i,
    ],
  ],
  [
    "network",
    [
      /\bvpn\b/i,
      /\bwi-?fi\b/i,
      /\bnetwork\b/i,
      /\binternet\b/i,
      /\bdns\b/i,
      /\bconnectivity\b/i,
      /\bfirewall\b/i,
      /\bproxy\b/i,
    ],
  ],
  [
    "hardware",
    [
      /\bprinters?\b/i,
      /\blaptops?\b/i,
      /\bmonitors?\b/i,
      /\bkeyboards?\b/i,
      /\bmouse\b/i,
      /\bhardware\b/i,
      /\bheadsets?\b/i,
      /\bbattery\b/i,
      /\bdocking station\b/i,
    ],
  ],
  [
    "feature_request",
    [
      /\bfeature\b/i,
      /\bwould be nice\b/i,
      /\bnice to have\b/i,
      /\badd support\b/i,
      /\bsuggestions?\b/i,
      /\benhancements?\b/i,
      /\bcould you add\b/i,
    ],
  ],
  [
    "bug",
    [
      /\bbugs?\b/i,
      /\bcrash(es|ed|ing)?\b/i,
      /\bexceptions?\b/i,
      /\bstack ?trace\b/i,
      /\bregression\b/i,
      /\berror\b/i,
      /\b5\d\d\b/,
    ],
  ],
  [
    "technical",
    [
      /\bservers?\b/i,
      /\b(web)?site\b/i,
      /\bapp(lication)?\b/i,
      /\bdown\b/i,
      /\boutage\b/i,
      /\bslow\b/i,
      /\bdatabase\b/i,
      /\bapi\b/i,
      /\bdeploy(ment)?\b/i,
    ],
  ],
];

export function triageCategory(text: string, allowed: readonly string[]): string {
  let best: string | undefined;
  let bestScore = 0;
  for (const [category, patterns] of CATEGORY_KEYWORDS) {
    if (!allowed.includes(category)) continue;
    const score = patterns.filter((p) => p.test(text)).length;
    if (score > bestScore) {
      best = category;
      bestScore = score;
    }
  }
  return best ?? (allowed.includes("general") ? "general" : (allowed[0] ?? "general"));
}

// ---- title ------------------------------------------------------------------------------------

const LEAD_IN =
  /^\s*(?:(?:hi|hello|hey)\b[^,.!?\n]*[,.!]\s*)?(?:please\s+)?(?:(?:create|open|file|raise|log|make)\s+(?:me\s+)?(?:a\s+|an\s+)?(?:new\s+)?(?:support\s+)?ticket(?:\s+(?:for|about|saying|that))?\s*[:,-]?\s*)?/i;
const PRIORITY_WORDS =
  /[,;]?\s*\b(?:(?:urgent|critical|high|medium|normal|low)[\s-]+priority|priority\s*[:=]?\s*(?:urgent|critical|high|medium|normal|low)|asap)\b\s*!*/gi;
const TITLE_SOFT_MAX = 80;

export function triageTitle(text: string): string {
  const body = text.replace(LEAD_IN, "");
  const firstSentence = body.split(/(?<=[.!?])\s+|\n/)[0] ?? "";
  let title = firstSentence
    .replace(PRIORITY_WORDS, "")
    .replace(/\s+/g, " ")
    .replace(/^[\s,;:.!?-]+|[\s,;:.!?-]+$/g, "");
  if (title.length > TITLE_SOFT_MAX) {
    const cut = title.slice(0, TITLE_SOFT_MAX);
    const space = cut.lastIndexOf(" ");
    title = `${(space > 40 ? cut.slice(0, space) : cut).replace(/[\s,;:-]+$/, "")}…`;
  }
  if (title.length < 3) return "Support request";
  return (title.charAt(0).toUpperCase() + title.slice(1)).slice(0, TRIAGE_TITLE_MAX);
}

// ---- schema ------------------------------------------------------------------------------------

function allowedValues(request: ChatRequest): { categories: string[]; priorities: string[] } {
  const format = request.responseFormat;
  const props = (format?.type === "json_schema" ? format.schema.properties : undefined) as
    | Record<string, { enum?: unknown }>
    | undefined;
  const strings = (v: unknown, fallback: string[]) =>
    Array.isArray(v) && v.every((x) => typeof x === "string") && v.length > 0 ? (v as string[]) : fallback;
  return {
    categories: strings(props?.category?.enum, ["general"]),
    priorities: strings(props?.priority?.enum, ["low", "medium", "high", "urgent"]),
  };
}
