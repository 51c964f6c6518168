/**
 * Support engineers type fast: "tkt", "delte", "asign", "prio", "pls". The planner repairs the
 * common misspellings and short forms before it reads a request, so every rule after this one sees
 * one spelling. Only whole words are replaced, and never inside quotes, so titles keep their words.
 */
const FIXES: readonly (readonly [RegExp, string])[] = [
  [/\b(?:tiket|tikcet|ticekt|tickt|tcket|tkt|ticktet)\b/gi, "ticket"],
  [/\b(?:tikets|tikcets|tkts|tix|tickts|tcikets)\b/gi, "tickets"],
  [/\b(?:delte|delet|dlete|deleet|delete)\b/gi, "delete"],
  [/\bdel(?=\s+(?:#|\d|ticket))/gi, "delete"],
  [/\b(?:asign|assing|assgin)\b/gi, "assign"],
  [/\b(?:unasign|unassing)\b/gi, "unassign"],
  [/\b(?:prio|prioity|priorty|priortiy|prioirty)\b/gi, "priority"],
  [/\bhi(?=\s+priority\b)/gi, "high"],
  [/\b(?:pls|plz|plse|pleas)\b/gi, "please"],
  [/\b(?:clsoe|cloes|closee|colse)\b/gi, "close"],
  [/\b(?:repoen|re-open|reoepn)\b/gi, "reopen"],
  [/\b(?:reslove|resovle|reolve)\b/gi, "resolve"],
  [/\b(?:shwo|sho|shw|hsow)\b/gi, "show"],
  [/\b(?:detials|detalis)\b/gi, "details"],
  [/\b(?:serach|srch|seach|saerch)\b/gi, "search"],
  [/\b(?:lsit|lits)\b/gi, "list"],
  [/\b(?:creat|craete|crate|cretae)\b/gi, "create"],
  [/\bfiel\b/gi, "file"],
  [/\b(?:chnage|chagne|cahnge)\b/gi, "change"],
  [/\b(?:upd8|updte|udpate)\b/gi, "update"],
  [/\b(?:statistcs|statisitcs|statistic)\b/gi, "statistics"],
  [/\b(?:intergrations|integratoins|integrations|integrtions)\b/gi, "integrations"],
  [/\b(?:intergration|integratoin|integ)\b/gi, "integration"],
  [/\b(?:sytem|systme|sys)\b/gi, "system"],
  [/\b(?:helth|heath|healht)\b/gi, "health"],
  [/\bwat\b/gi, "what"],
  // Its ";" would otherwise split the request in two.
  [/\btl;?\s?dr\b/gi, "summary"],
  [/\bu\b/gi, "you"],
  [/\bur\b/gi, "your"],
  [/^\s*t(?=\s+#?\d)/i, "ticket"],
];

/** The request with typos and short forms repaired; quoted text is left as it was typed. */
export function normalize(text: string): string {
  return text
    .split(/("[^"]*"|“[^”]*”)/)
    .map((part, i) =>
      i % 2 === 1 ? part : FIXES.reduce((t, [pattern, fix]) => t.replace(pattern, fix), part),
    )
    .join("")
    .replace(/\s+/g, " ")
    .trim();
}
