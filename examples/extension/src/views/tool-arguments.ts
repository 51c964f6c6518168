import { h } from "../dom.js";

/** A field name as a label: "ticket_id" → "Ticket id", "assignedTo" → "Assigned to". */
export function fieldLabel(name: string): string {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/[_-]+/g, " ")
    .trim()
    .toLowerCase();
  return words ? words[0]?.toUpperCase() + words.slice(1) : name;
}

/** One value as a person reads it: lists joined, yes/no, nested objects as compact JSON. */
function fieldValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (value === null) return "—";
  if (Array.isArray(value) && value.every((v) => typeof v !== "object" || v === null))
    return value.map(fieldValue).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function parse(json: string): { fields?: [string, unknown][]; pretty: string } {
  try {
    const parsed: unknown = JSON.parse(json || "{}");
    const pretty = JSON.stringify(parsed, null, 2);
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed))
      return { fields: Object.entries(parsed), pretty };
    return { pretty };
  } catch {
    // Not JSON (a model may send anything): shown as it came, in the JSON view only.
    return { pretty: json };
  }
}

/**
 * A tool call's arguments as labelled fields (what a support engineer reads), with a "JSON" toggle
 * for the exact arguments sent. `showJson` carries the toggle's state across re-renders (the call
 * is drawn again when it finishes).
 */
export function renderToolArguments(
  argumentsJson: string,
  showJson: boolean,
  onToggle: (showJson: boolean) => void,
): { toggle?: HTMLElement; body: HTMLElement[] } {
  const { fields, pretty } = parse(argumentsJson);
  if (fields && fields.length === 0) return { body: [h("p", { class: "tool-args-empty" }, "No arguments")] };
  const asFields = fields !== undefined && !showJson;
  const list = fields
    ? h(
        "dl",
        { class: "tool-args", hidden: !asFields },
        ...fields.flatMap(([name, value]) => [
          h("dt", { "data-field": name }, fieldLabel(name)),
          h("dd", { "data-field": name }, fieldValue(value)),
        ]),
      )
    : null;
  const json = h("pre", { class: "tool-args-json", hidden: asFields }, pretty);
  const toggle = h(
    "button",
    { type: "button", class: "json-toggle", "aria-pressed": String(!asFields), disabled: !fields },
    "JSON",
  );
  toggle.title = "Show the arguments exactly as sent";
  toggle.addEventListener("click", () => {
    const nowJson = toggle.getAttribute("aria-pressed") !== "true";
    toggle.setAttribute("aria-pressed", String(nowJson));
    if (list) list.hidden = nowJson;
    json.hidden = !nowJson;
    onToggle(nowJson);
  });
  return { toggle, body: list ? [list, json] : [json] };
}
