import { describe, expect, it } from "vitest";
import { createModelProvider } from "../../service/create-model-provider.js";
import { ModelError } from "../model-error.js";
import { createEmbeddedProvider } from "./embedded-provider.js";

describe("embedded provider", () => {
  it("refuses requests none of its skills handles, saying how to get a general model", async () => {
    const err = (await createEmbeddedProvider([])
      .complete({ messages: [{ role: "user", content: "write a poem" }] })
      .catch((e: unknown) => e)) as ModelError;
    expect(err).toBeInstanceOf(ModelError);
    expect(err.kind).toBe("unsupported");
    expect(err.message).toMatch(/LLM_BASE_URL/);
  });

  it("answers with the first skill that recognises the request (the MCP server's triage, the agent's planner)", async () => {
    const provider = createEmbeddedProvider([
      { name: "echo", answer: (r) => ({ content: `echo: ${r.messages.length}` }) },
    ]);
    expect((await provider.complete({ messages: [{ role: "user", content: "x" }] })).content).toBe("echo: 1");
  });
});

describe("createModelProvider", () => {
  it("is the embedded provider without LLM_BASE_URL", () => {
    expect(
      createModelProvider({
        LLM_BASE_URL: undefined,
        LLM_API_KEY: undefined,
        LLM_MODEL: undefined,
        LLM_TIMEOUT: 60,
      }).kind,
    ).toBe("embedded");
  });
  it("is the OpenAI-compatible provider with LLM_BASE_URL and LLM_MODEL", () => {
    const p = createModelProvider({
      LLM_BASE_URL: "http://127.0.0.1:9/v1",
      LLM_API_KEY: undefined,
      LLM_MODEL: "m",
      LLM_TIMEOUT: 60,
    });
    expect(p.kind).toBe("openai-compatible");
    expect(p.model).toBe("m");
  });
  it("refuses LLM_BASE_URL without LLM_MODEL", () => {
    expect(() =>
      createModelProvider({
        LLM_BASE_URL: "http://127.0.0.1:9/v1",
        LLM_API_KEY: undefined,
        LLM_MODEL: undefined,
        LLM_TIMEOUT: 60,
      }),
    ).toThrow(/LLM_MODEL/);
  });
});
