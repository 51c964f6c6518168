import type { ConfirmationRow, TurnStore } from "../turn-store.js";

/**
 * For the stores' specs: ends the run of turn `messageId` at question `n` — a delete of ticket `n`
 * waiting for the user's yes — as a turn stopped by the agent's question is finished, and gives the
 * turn back. Returns that question, as stored.
 */
export async function stopAtQuestion(
  turns: TurnStore,
  messageId: string,
  n: number,
): Promise<ConfirmationRow> {
  await turns.finish(
    messageId,
    { role: "assistant", content: "done", status: "awaiting_confirmation" },
    {
      id: `${messageId}-q-${n}`,
      toolCallId: `call-${n}`,
      toolName: "delete_ticket",
      argumentsJson: `{"ticket_id":${n}}`,
      argumentsSummary: `ticket ${n}`,
      question: `Delete ticket ${n}?`,
      action: "delete",
      resumeState: new Uint8Array([n]),
    },
  );
  turns.release(messageId);
  const question = await turns.latestConfirmation(messageId);
  if (!question) throw new Error("no question");
  return question;
}
