import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import type { Random } from "./seeded-random.js";

/** A request message in the proto3 JSON mapping, and whether any string field of it was filled. */
export interface HostileMessage {
  readonly json: Record<string, unknown>;
  readonly strings: number;
}

/** How deep nested messages are filled: requests are shallow, recursive types must end. */
const MAX_DEPTH = 3;

/**
 * Fills every field of `schema` (nested messages, lists and maps included; one member per oneof)
 * from its descriptor, every string — map keys too — with `text()`, so a fuzz reaches each
 * method's every string field without knowing the method. Well-known types (google.protobuf.*)
 * have JSON forms of their own (a Timestamp is an RFC 3339 string) and are left out.
 */
export function hostileMessage(r: Random, schema: DescMessage, text: () => string): HostileMessage {
  let strings = 0;
  const str = () => {
    strings++;
    return text();
  };
  const scalar = (type: ScalarType): unknown => {
    switch (type) {
      case ScalarType.STRING:
        return str();
      case ScalarType.BYTES:
        return r.bytes(1 + r.int(16)).toString("base64");
      case ScalarType.BOOL:
        return r.chance(0.5);
      case ScalarType.DOUBLE:
      case ScalarType.FLOAT:
        return r.int(100) / 10;
      case ScalarType.INT64:
      case ScalarType.UINT64:
      case ScalarType.SINT64:
      case ScalarType.FIXED64:
      case ScalarType.SFIXED64:
        return String(r.int(1_000));
      default:
        return r.int(100);
    }
  };
  const message = (desc: DescMessage, depth: number): Record<string, unknown> | undefined => {
    if (depth > MAX_DEPTH || desc.typeName.startsWith("google.protobuf.")) return undefined;
    const out: Record<string, unknown> = {};
    const oneofs = new Set<string>();
    for (const field of desc.fields) {
      if (field.oneof) {
        if (oneofs.has(field.oneof.name)) continue;
        oneofs.add(field.oneof.name);
      }
      const value = fieldValue(field, depth);
      if (value !== undefined) out[field.jsonName] = value;
    }
    return out;
  };
  const single = (field: DescField & { fieldKind: "list" | "map" }, depth: number): unknown => {
    const kind = field.fieldKind === "list" ? field.listKind : field.mapKind;
    if (kind === "scalar") return scalar(field.scalar as ScalarType);
    if (kind === "enum") return field.enum ? r.pick(field.enum.values).number : 0;
    return field.message ? message(field.message, depth + 1) : undefined;
  };
  const fieldValue = (field: DescField, depth: number): unknown => {
    switch (field.fieldKind) {
      case "scalar":
        return scalar(field.scalar);
      case "enum":
        return r.pick(field.enum.values).number;
      case "message":
        return message(field.message, depth + 1);
      case "list": {
        const item = single(field, depth);
        return item === undefined ? undefined : [item];
      }
      case "map": {
        const value = single(field, depth);
        if (value === undefined) return undefined;
        const key = field.mapKey === ScalarType.STRING ? str() : String(scalar(field.mapKey));
        return { [key]: value };
      }
    }
  };
  return { json: message(schema, 0) ?? {}, strings };
}
