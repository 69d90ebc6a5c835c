// Input validation with zod: the first problem becomes an INVALID_ARGUMENT with a stable id.
import { z } from "zod";
import { ApiError } from "../errors";

export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  errorId: string,
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const violations = result.error.issues.map((issue) => ({
    field: issue.path.join("."),
    description: issue.message,
  }));
  const first = violations[0];
  const message = first
    ? `${first.field ? `${first.field}: ` : ""}${first.description}`
    : "invalid input";
  throw ApiError.invalidArgument(errorId, message, { violations });
}

export const trimmed = (max: number) => z.string().trim().min(1, "must not be empty").max(max);
export const optionalTrimmed = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .nullish()
    .transform((value) => (value ? value : null));

/** BCP-47-ish language tag: "de", "de-CH", "zh-Hant-TW". */
export const languageTag = z
  .string()
  .trim()
  .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, "must be a language tag such as en or de-CH")
  .nullish()
  .transform((value) => (value ? value : null));

export const email = z.string().trim().max(320).pipe(z.email("must be an email address"));
