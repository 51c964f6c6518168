import type { ElicitRequest, ElicitResult } from "@modelcontextprotocol/client";
import { ProtocolError, ProtocolErrorCode } from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import {
  answerQuestion,
  askedWithoutAnswer,
  type CallQuestions,
  questionKey,
  questionsOf,
} from "./call-questions.js";

/**
 * A tool's questions on the 2025 family (docs/mcp-gateway.md, "Questions to the user"): a question
 * is answered only inside the call it belongs to, only with an answer to exactly that question (its
 * key is a digest of the question itself), and an unanswered one goes back to the caller as
 * `input_required` rather than being answered by the gateway.
 */
const deleteQuestion = (ticket: number): ElicitRequest["params"] =>
  ({
    mode: "form",
    message: `Delete ticket #${ticket}?`,
    requestedSchema: { type: "object", properties: { confirm: { type: "boolean" } }, required: ["confirm"] },
  }) as ElicitRequest["params"];

const YES: ElicitResult = { action: "accept", content: { confirm: true } };

const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProtocolError);
  expect((err as ProtocolError).code).toBe(ProtocolErrorCode.InvalidRequest);
  return err as ProtocolError;
};

describe("a call's questions", () => {
  it("refuses a question that arrives outside any call: no call is waiting for it", async () => {
    const err = await refusal(answerQuestion(deleteQuestion(1)));
    expect(err.message).toContain("no call of this client is waiting for this question");
  });

  it("answers a question with the caller's answer to exactly that question, whatever the request's _meta", async () => {
    const call: CallQuestions = { responses: { [questionKey(deleteQuestion(7))]: YES } };
    const answered = await questionsOf(call, () =>
      answerQuestion({ ...deleteQuestion(7), _meta: { progressToken: 42 } } as ElicitRequest["params"]),
    );
    expect(answered).toEqual(YES);
    expect(askedWithoutAnswer(call)).toBeUndefined();
  });

  it("hands a question worded otherwise back to the caller: a yes to one ticket is not a yes to another", async () => {
    const call: CallQuestions = { responses: { [questionKey(deleteQuestion(7))]: YES } };
    const err = await questionsOf(call, () => refusal(answerQuestion(deleteQuestion(8))));
    expect(err.message).toContain("the user is not at this call");
    expect(askedWithoutAnswer(call)).toEqual({
      resultType: "input_required",
      inputRequests: {
        [questionKey(deleteQuestion(8))]: { method: "elicitation/create", params: deleteQuestion(8) },
      },
    });
  });

  it("does not take anything but an accept, decline or cancel as an answer", async () => {
    const key = questionKey(deleteQuestion(1));
    for (const answer of [{ action: "maybe" }, "yes", true, null, { content: { confirm: true } }]) {
      const call: CallQuestions = { responses: { [key]: answer } };
      await questionsOf(call, () => refusal(answerQuestion(deleteQuestion(1))));
      expect(Object.keys(askedWithoutAnswer(call)?.inputRequests ?? {}), JSON.stringify(answer)).toEqual([
        key,
      ]);
    }
    for (const action of ["decline", "cancel"] as const) {
      const call: CallQuestions = { responses: { [key]: { action } } };
      expect(await questionsOf(call, () => answerQuestion(deleteQuestion(1)))).toEqual({ action });
    }
  });

  it("keeps every unanswered question of a call, and none of another call's", async () => {
    const mine: CallQuestions = { responses: undefined };
    const theirs: CallQuestions = { responses: { [questionKey(deleteQuestion(2))]: YES } };
    await Promise.all([
      questionsOf(mine, async () => {
        await refusal(answerQuestion(deleteQuestion(1)));
        await new Promise((r) => setTimeout(r, 1));
        await refusal(answerQuestion(deleteQuestion(2)));
      }),
      questionsOf(theirs, async () => {
        await new Promise((r) => setTimeout(r, 1));
        expect(await answerQuestion(deleteQuestion(2))).toEqual(YES);
      }),
    ]);
    expect(Object.keys(askedWithoutAnswer(mine)?.inputRequests ?? {}).sort()).toEqual(
      [questionKey(deleteQuestion(1)), questionKey(deleteQuestion(2))].sort(),
    );
    expect(askedWithoutAnswer(theirs)).toBeUndefined();
  });

  it("keys a question by its content: key order and absent fields do not matter, any change of wording does", () => {
    const q = deleteQuestion(3);
    const { requestedSchema } = q as { requestedSchema: unknown };
    const reordered = {
      requestedSchema,
      message: q.message,
      mode: "form",
      extra: undefined,
    } as unknown as ElicitRequest["params"];
    expect(questionKey(reordered)).toBe(questionKey(q));
    expect(questionKey(q)).toMatch(/^elicitation-[0-9a-f]{32}$/);
    expect(questionKey({ ...q, message: "Delete ticket #3 ?" })).not.toBe(questionKey(q));
    const otherSchema = {
      ...q,
      requestedSchema: { type: "object", properties: { confirm: { type: "string" } } },
    } as ElicitRequest["params"];
    expect(questionKey(otherSchema)).not.toBe(questionKey(q));
  });
});
