import { describe, expect, it } from "vitest";
import { planMessage } from "./plan.js";
import { threadTicket } from "./thread-tickets.js";

describe("plan: tickets the words point to", () => {
  it("'it' is the ticket the previous step named, created or found", () => {
    expect(planMessage("show 12 and close it")).toMatchObject([
      { tool: "get_ticket", args: { ticket_id: 12 } },
      { tool: "update_ticket_status", args: { ticket_id: 12, status: "closed" } },
    ]);
    expect(planMessage("new ticket: VPN down, then give it to me")).toMatchObject([
      { tool: "create_ticket", args: { title: "VPN down" } },
      { tool: "assign_ticket", args: { assignee: "me" }, from: 0 },
    ]);
  });

  it("'both' is every ticket named before; a lone 'it' among several is asked about", () => {
    expect(planMessage("show #2 and #3 then close both").map((s) => s.kind === "call" && s.args)).toEqual([
      { ticket_id: 2 },
      { ticket_id: 3 },
      { ticket_id: 2, status: "closed" },
      { ticket_id: 3, status: "closed" },
    ]);
    expect(planMessage("show #2 and #3 then close it").at(-1)).toMatchObject({
      kind: "ask",
      question: "Which one do you mean: #2, #3?",
    });
  });

  it("numbers that are not tickets stay out: dates, floors, counts, 'duplicate of'", () => {
    expect(planMessage("delete 90 as duplicate of 89")).toMatchObject([
      { tool: "delete_ticket", args: { ticket_id: 90, reason: "duplicate of 89" } },
    ]);
    expect(planMessage("rename 20 to Printer jam on floor 2")).toMatchObject([
      { tool: "update_ticket", args: { ticket_id: 20, title: "Printer jam on floor 2" } },
    ]);
  });
});

describe("thread ticket", () => {
  it("is the one ticket of the latest message naming tickets, none when it names several", () => {
    expect(
      threadTicket([
        { role: "user", content: "show ticket 7" },
        { role: "assistant", content: "get_ticket failed (not_found): ticket 7 does not exist." },
      ]),
    ).toBe(7);
    expect(
      threadTicket([
        { role: "assistant", content: 'Created ticket #4 "VPN".' },
        { role: "assistant", content: "2 ticket(s) match.\n- #5 A (open, low)\n- #6 B (open, low)" },
      ]),
    ).toBeUndefined();
    expect(threadTicket([{ role: "system", content: "Ticket #9 is important" }])).toBeUndefined();
  });
});
