import { describe, expect, it } from "vitest";
import { createEmbeddedProvider, EMBEDDED_MODEL } from "#kit/model/index.js";
import { parseTicketTriage, type TriageVocabulary, ticketTriageRequest } from "./ticket-triage.js";
import { ticketTriageSkill } from "./ticket-triage-skill.js";

const VOCAB: TriageVocabulary = {
  categories: ["general", "technical", "bug", "account", "billing", "hardware", "network", "feature_request"],
  priorities: ["low", "medium", "high", "urgent"],
  defaultCategory: "general",
  defaultPriority: "medium",
};

async function triage(text: string, vocab = VOCAB) {
  const provider = createEmbeddedProvider([ticketTriageSkill]);
  return parseTicketTriage(await provider.complete(ticketTriageRequest(text, vocab)), vocab);
}

describe("embedded provider: ticket triage", () => {
  const cases: [string, { title: string; category: string; priority: string }][] = [
    [
      "create a ticket: printer on fire, high priority",
      { title: "Printer on fire", category: "hardware", priority: "high" },
    ],
    [
      "The VPN is down for the whole office, please fix ASAP",
      { title: "The VPN is down for the whole office, please fix", category: "network", priority: "urgent" },
    ],
    [
      "I was charged twice on my last invoice. Can you refund one?",
      { title: "I was charged twice on my last invoice", category: "billing", priority: "medium" },
    ],
    [
      "Hi team, I can't log in to my account since the password reset",
      {
        title: "I can't log in to my account since the password reset",
        category: "account",
        priority: "high",
      },
    ],
    [
      "Would be nice to have dark mode in the dashboard, no rush",
      {
        title: "Would be nice to have dark mode in the dashboard, no rush",
        category: "feature_request",
        priority: "low",
      },
    ],
    [
      "The export crashes with a stack trace when the report is empty",
      {
        title: "The export crashes with a stack trace when the report is empty",
        category: "bug",
        priority: "high",
      },
    ],
    [
      "Quick question about how reports are grouped",
      { title: "Quick question about how reports are grouped", category: "general", priority: "low" },
    ],
    [
      "Please update the office phone list",
      { title: "Update the office phone list", category: "general", priority: "medium" },
    ],
    [
      "p1: website is slow for customers in EU",
      { title: "P1: website is slow for customers in EU", category: "technical", priority: "high" },
    ],
    [
      "Our production site is on fire",
      { title: "Our production site is on fire", category: "technical", priority: "urgent" },
    ],
  ];
  for (const [text, expected] of cases) {
    it(`"${text}" → ${expected.category}/${expected.priority}`, async () => {
      expect(await triage(text)).toEqual(expected);
    });
  }

  it("is deterministic and reports plausible usage", async () => {
    const provider = createEmbeddedProvider([ticketTriageSkill]);
    const request = ticketTriageRequest("The VPN is down, urgent!", VOCAB);
    const a = await provider.complete(request);
    const b = await provider.complete(request);
    expect(a).toEqual(b);
    expect(a.model).toBe(EMBEDDED_MODEL);
    expect(a.finishReason).toBe("stop");
    expect(a.usage.promptTokens).toBeGreaterThan(0);
    expect(a.usage.totalTokens).toBe(a.usage.promptTokens + a.usage.completionTokens);
  });

  it("answers only with values the schema allows", async () => {
    const narrow: TriageVocabulary = {
      categories: ["general", "it"],
      priorities: ["low", "medium", "high"],
      defaultCategory: "general",
      defaultPriority: "medium",
    };
    expect(await triage("the server is down, urgent", narrow)).toMatchObject({
      category: "general",
      priority: "high",
    });
  });

  it("shortens long first sentences on a word boundary", async () => {
    const text = `${"the dashboard widget that shows weekly ticket volume per team ".repeat(3)}is misaligned`;
    const { title } = await triage(text);
    expect(title.length).toBeLessThanOrEqual(81);
    expect(title.endsWith("…")).toBe(true);
  });

  it("reads a remote model's answer in a code fence, in any case, into the vocabulary", () => {
    const answer = {
      model: "m",
      content: '```json\n{"title":"VPN down","category":"Network","priority":"URGENT"}\n```',
      toolCalls: [],
      finishReason: "stop" as const,
      usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
    };
    expect(parseTicketTriage(answer, VOCAB)).toEqual({
      title: "VPN down",
      category: "network",
      priority: "urgent",
    });
  });
});
