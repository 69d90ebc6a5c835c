// Input validation with zod: the first problem becomes an INVALID_ARGUMENT with a stable id.
import { getMetadataArgsStorage } from "typeorm";
import { z } from "zod";
import { ApiError } from "../errors";
import type { ErrorId } from "../error-ids";

/**
 * The length of an entity's varchar column, so inputs are refused with INVALID_ARGUMENT before
 * the database would refuse them (INTERNAL) or, on SQLite, store them whole.
 */
export function columnLength(entity: object, property: string): number {
  const column = getMetadataArgsStorage().columns.find(
    (c) => c.target === entity && c.propertyName === property,
  );
  const length = Number(column?.options.length);
  if (!Number.isInteger(length)) throw new Error(`no varchar column ${property}`);
  return length;
}

/**
 * Resource IDs are lowercase UUIDs. Anything else names no resource: checking the format before
 * the query makes ID comparison exact on every engine (MySQL's collations would fold case and
 * ignore trailing spaces).
 */
const RESOURCE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const isResourceId = (value: string): boolean => RESOURCE_ID.test(value);

/**
 * C0/C1 controls (line breaks, NUL, DEL), line and paragraph separators, and the bidi controls
 * that reorder what a mail shows. Joiners stay allowed: some scripts need them.
 */
const CONTROL = /[\p{Cc}\u061C\u200E\u200F\u2028-\u202E\u2066-\u2069]/u;
const NO_CONTROL = "must not contain control characters or line breaks";
const withoutControls = (value: string | null | undefined) => !value || !CONTROL.test(value);

/**
 * Characters that show nothing: Unicode format characters (category Cf: soft hyphen, zero-width
 * space and joiners, bidi controls, tag characters) and the other default-ignorable code points
 * (variation selectors, Hangul fillers, ...). In a name that identifies someone they only make
 * two names that look the same differ.
 */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;
export const isVisibleOnly = (value: string): boolean => !INVISIBLE.test(value);

/**
 * The first problem becomes an INVALID_ARGUMENT with `errorId`, or with the id a refinement
 * names in its params (`{ params: { errorId } }`) when that cause has its own.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  errorId: ErrorId,
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
  const { params } = (result.error.issues[0] ?? {}) as { params?: { errorId?: ErrorId } };
  throw ApiError.invalidArgument(params?.errorId ?? errorId, message, { violations });
}

/** A name shown to people (and put into mails): trimmed, 1..max, no control characters. */
export const trimmed = (max: number) =>
  z.string().trim().min(1, "must not be empty").max(max).refine(withoutControls, NO_CONTROL);
export const optionalTrimmed = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .refine(withoutControls, NO_CONTROL)
    .nullish()
    .transform((value) => (value ? value : null));

/**
 * A name that identifies something (a username, an organization): a `trimmed` name that refuses
 * invisible characters too, with the id `errorId`. Display names keep joiners, which some
 * scripts need; identifiers do without.
 */
export const identifyingName = (max: number, errorId: ErrorId) =>
  z
    .string()
    .trim()
    .refine(isVisibleOnly, {
      message: "must not contain invisible or format characters (soft hyphen, zero-width, bidi)",
      params: { errorId },
    })
    .min(1, "must not be empty")
    .max(max)
    .refine(withoutControls, NO_CONTROL);

/** BCP-47-ish language tag: "de", "de-CH", "zh-Hant-TW". */
export const languageTag = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, "must be a language tag such as en or de-CH")
    .nullish()
    .transform((value) => (value ? value : null));

/**
 * What a DATETIME(3) column (timestampColumn) holds on MariaDB and SQLite alike: MariaDB refuses
 * anything else, and SQLite would store a year past 9999 cut to four digits.
 */
const STORABLE_DATES = {
  min: new Date("1000-01-01T00:00:00.000Z"),
  max: new Date("9999-12-31T23:59:59.999Z"),
};
export const storableDate = () =>
  z
    .date()
    .min(STORABLE_DATES.min, `must not be before ${STORABLE_DATES.min.toISOString()}`)
    .max(STORABLE_DATES.max, `must not be after ${STORABLE_DATES.max.toISOString()}`);

export const email = (max: number) =>
  z.string().trim().max(max).pipe(z.email("must be an email address"));
