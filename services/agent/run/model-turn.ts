import type { RunEvent } from "#gen/supportext/agent/v1/agent_pb.js";
import type { ChatCompletion, ChatRequest, ModelProvider } from "#kit/model/index.js";
import { ModelError } from "#kit/model/index.js";
import { events, textPieces } from "./events.js";

/**
 * One model call, yielding its text as TextDelta events: as the model writes it when the provider
 * streams (a real model), else the whole answer cut into pieces (the embedded planner, which
 * answers at once). `lead` goes before the turn's first text (paragraphs between turns); `sent`
 * hears each piece as it is yielded, so a run cancelled mid-answer still knows what the caller saw.
 * Fails with the provider's ModelError; the loop maps it.
 */
export async function* modelTurn(
  model: ModelProvider,
  request: ChatRequest,
  signal: AbortSignal,
  lead: string,
  sent: (text: string) => void,
): AsyncGenerator<RunEvent, ChatCompletion> {
  if (!model.stream) {
    const completion = await model.complete(request, { signal });
    for (const piece of textPieces(completion.content ? lead + completion.content : "")) {
      sent(piece);
      yield events.textDelta(piece);
    }
    return completion;
  }
  let first = true;
  for await (const event of model.stream(request, { signal })) {
    if (event.type === "completion") return event.completion;
    if (!event.text) continue;
    const piece = first ? lead + event.text : event.text;
    first = false;
    sent(piece);
    yield events.textDelta(piece);
  }
  throw new ModelError("bad_response", "the model's stream ended without a completion");
}
