// GraphQL shapes shared by every feature: the DateTime and JSONObject scalars, ObjectDetails.
import { GraphQLScalarType, Kind } from "graphql";
import { GraphQLJSONObject } from "graphql-scalars";
import { Field, ID, ObjectType } from "type-graphql";
import type { WriteDetails } from "../../core/event-store";

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

function parseDateTime(value: unknown): Date {
  const parts = typeof value === "string" ? DATE_TIME.exec(value) : null;
  if (!parts) {
    throw new TypeError(
      "DateTime must be an ISO-8601 string with a time zone, e.g. 2025-03-25T10:28:44.961Z",
    );
  }
  const date = new Date(parts[0]);
  if (!onTheCalendar(parts.slice(1)) || Number.isNaN(date.getTime())) {
    throw new TypeError("DateTime is not a valid date");
  }
  return date;
}

/** Date's parser rolls 2025-02-30 over to March 2 and 24:00 to the next day: refuse them. */
function onTheCalendar(parts: (string | undefined)[]): boolean {
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, offsetH = 0, offsetM = 0] =
    parts.map((part) => Number(part ?? 0));
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return (
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetH <= 23 &&
    offsetM <= 59
  );
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: "DateTime",
  description: "ISO-8601 UTC date-time with milliseconds, e.g. 2025-03-25T10:28:44.961Z",
  // What the server writes (toISOString) is an RFC 3339 profile of ISO-8601.
  specifiedByURL: "https://datatracker.ietf.org/doc/html/rfc3339",
  serialize: (value) => {
    if (value instanceof Date) return value.toISOString();
    throw new TypeError("DateTime cannot represent a non-date value");
  },
  parseValue: parseDateTime,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new TypeError("DateTime must be a string");
    return parseDateTime(ast.value);
  },
});

/** graphql-scalars' JSONObject under the description the contract gives it (SPEC section 11). */
export const JSONObjectScalar = new GraphQLScalarType({
  ...GraphQLJSONObject.toConfig(),
  description: "A JSON object (graphql-scalars JSONObject).",
});

@ObjectType({
  description:
    "What a manipulation wrote: the sequence, time and organization of its event(s) on the object's aggregate (ZITADEL's ObjectDetails).",
})
export class ObjectDetails {
  @Field(() => String, {
    description:
      "Sequence of the last event written on the object's aggregate (uint64 as a decimal string).",
  })
  sequence!: string;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: "Timestamp of the event(s) this manipulation wrote (v1-style operations only).",
  })
  creationDate!: Date | null;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: "Timestamp of the event(s) this manipulation wrote.",
  })
  changeDate!: Date | null;

  @Field(() => ID, { description: "The organization the object belongs to." })
  resourceOwner!: string;

  /** v1 operations report creationDate and changeDate; v2 operations only changeDate. */
  static from(written: WriteDetails, style: "v1" | "v2" = "v1"): ObjectDetails {
    const details = new ObjectDetails();
    details.sequence = String(written.sequence);
    details.creationDate = style === "v1" ? written.eventDate : null;
    details.changeDate = written.eventDate;
    details.resourceOwner = written.resourceOwner;
    return details;
  }
}

@ObjectType({ description: "The result of a manipulation that returns nothing but its details." })
export class DetailsPayload {
  @Field(() => ObjectDetails, { description: "What the manipulation wrote." })
  details!: ObjectDetails;

  static of<T extends DetailsPayload>(
    this: new () => T,
    written: WriteDetails,
    style: "v1" | "v2" = "v1",
  ): T {
    return Object.assign(new this(), { details: ObjectDetails.from(written, style) });
  }
}
