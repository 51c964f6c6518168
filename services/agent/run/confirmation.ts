/**
 * A tool's question to the user, read from the MCP InputRequests the gateway carries
 * (docs/agent.md, "Confirmation"). The agent asks users one kind of question: a confirmation — one
 * form elicitation whose form is a single boolean (our MCP server's destructive tools ask
 * `{"confirm": boolean}`). Anything else is a question this agent cannot put to its user.
 */
export interface ToolQuestion {
  /** The input request's key, which the answer is keyed by. */
  readonly key: string;
  /** The form's one boolean field. */
  readonly field: string;
  /** The tool's own question. */
  readonly message: string;
  /** What a yes does, in a few words (the field's title), or the question itself. */
  readonly action: string;
}

interface ElicitationRequest {
  method?: unknown;
  params?: {
    mode?: unknown;
    message?: unknown;
    requestedSchema?: { properties?: Record<string, { type?: unknown; title?: unknown }> };
  };
}

/** The confirmation asked, or undefined when the questions are not one yes/no. */
export function confirmationOf(inputRequestsJson: string): ToolQuestion | undefined {
  let requests: unknown;
  try {
    requests = JSON.parse(inputRequestsJson);
  } catch {
    return undefined;
  }
  if (typeof requests !== "object" || requests === null || Array.isArray(requests)) return undefined;
  const entries = Object.entries(requests as Record<string, ElicitationRequest>);
  if (entries.length !== 1) return undefined;
  const [key, request] = entries[0] as [string, ElicitationRequest];
  if (request?.method !== "elicitation/create") return undefined;
  const params = request.params;
  if (!params || (params.mode !== undefined && params.mode !== "form")) return undefined;
  if (typeof params.message !== "string" || params.message.trim() === "") return undefined;
  const fields = Object.entries(params.requestedSchema?.properties ?? {});
  if (fields.length !== 1) return undefined;
  const [field, schema] = fields[0] as [string, { type?: unknown; title?: unknown }];
  if (schema?.type !== "boolean") return undefined;
  return {
    key,
    field,
    message: params.message.trim(),
    action:
      typeof schema.title === "string" && schema.title.trim() ? schema.title.trim() : params.message.trim(),
  };
}

/** The user's answer as MCP InputResponses: a yes accepts the form with its field true; a no declines it. */
export function answerOf(question: Pick<ToolQuestion, "key" | "field">, confirmed: boolean): string {
  const response = confirmed
    ? { action: "accept", content: { [question.field]: true } }
    : { action: "decline" };
  return JSON.stringify({ [question.key]: response });
}

/** `ticket_id: 5, reason: "duplicate"`: a call's arguments in one line for people. */
export function argumentsSummary(argumentsJson: string): string {
  let args: unknown;
  try {
    args = JSON.parse(argumentsJson || "{}");
  } catch {
    return argumentsJson.slice(0, 200);
  }
  if (typeof args !== "object" || args === null || Array.isArray(args))
    return JSON.stringify(args).slice(0, 200);
  const parts = Object.entries(args as Record<string, unknown>).map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
  const line = parts.join(", ");
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
