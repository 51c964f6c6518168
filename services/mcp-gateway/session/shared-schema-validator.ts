import type { JsonSchemaType, JsonSchemaValidator, jsonSchemaValidator } from "@modelcontextprotocol/client";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/client/validators/ajv";

/**
 * One JSON Schema validator for every MCP client of the process. The SDK's `Client` builds its own
 * Ajv instance and recompiles every tool's output schema on each tools/list; with a client per
 * principal that was ~40 ms of CPU per new client (measured: 100 concurrent first ListTools took
 * 6 s). Here each distinct schema is compiled once, keyed by its JSON text.
 */
class CachingValidator implements jsonSchemaValidator {
  private readonly inner = new AjvJsonSchemaValidator();
  private readonly compiled = new Map<string, JsonSchemaValidator<unknown>>();

  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    const key = JSON.stringify(schema);
    let validator = this.compiled.get(key);
    if (!validator) {
      validator = this.inner.getValidator<unknown>(schema);
      this.compiled.set(key, validator);
    }
    return validator as JsonSchemaValidator<T>;
  }
}

export const sharedSchemaValidator: jsonSchemaValidator = new CachingValidator();
