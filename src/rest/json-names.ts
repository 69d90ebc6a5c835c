// Input field names as ZITADEL's gateway (protojson) accepts them: lowerCamelCase or the proto's
// snake_case. Only fields the route schema declares are renamed: free-form objects such as a
// WebAuthn credential (google.protobuf.Struct in ZITADEL) keep their keys as sent.
import { ApiError } from "../errors";

export interface ObjectSchema {
  properties?: Record<string, unknown>;
  /** An array's entries (ListSessions' queries): each is renamed by this schema. */
  items?: unknown;
}

const snakeCase = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/** A copy of `value` with declared snake_case fields renamed to lowerCamelCase. */
export function camelCaseFields(value: unknown, schema: ObjectSchema | undefined): unknown {
  if (Array.isArray(value) && schema?.items) {
    return value.map((item) => camelCaseFields(item, schema.items as ObjectSchema));
  }
  const properties = schema?.properties;
  if (!properties || typeof value !== "object" || value === null || Array.isArray(value)) {
    return value;
  }
  const result: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [name, fieldSchema] of Object.entries(properties)) {
    const alias = snakeCase(name);
    if (alias !== name && Object.hasOwn(result, alias)) {
      if (Object.hasOwn(result, name)) {
        throw ApiError.invalidArgument(
          "REST-duplicate-field",
          `field ${name} is given twice (as ${name} and ${alias})`,
        );
      }
      result[name] = result[alias];
      delete result[alias];
    }
    if (Object.hasOwn(result, name)) {
      result[name] = camelCaseFields(result[name], fieldSchema as ObjectSchema);
    }
  }
  return result;
}
