export { createEmbeddedProvider, EMBEDDED_MODEL } from "./embedded/embedded-provider.js";
export type { EmbeddedAnswer, EmbeddedSkill } from "./embedded/skill.js";
export { lastUserText } from "./embedded/skill.js";
export { ModelError, type ModelErrorKind } from "./model-error.js";
export { createOpenAiCompatibleProvider, type OpenAiCompatibleOptions } from "./openai-compatible.js";
export type * from "./types.js";
export type {
  ChatCompletion,
  ChatMessage,
  ChatRequest,
  ModelProvider,
  ToolCall,
  ToolDefinition,
} from "./types.js";
