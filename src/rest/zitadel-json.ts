// ZITADEL's JSON for what every write returns: details with the sequence as a decimal string
// (uint64 in protojson) and RFC 3339 UTC timestamps with milliseconds.
import type { WriteDetails } from "../core/event-store";

const sequence = {
  type: "string",
  pattern: "^[0-9]+$",
  description: "Sequence of the last event on the object's aggregate (uint64 as a decimal string).",
} as const;
const timestamp = { type: "string", format: "date-time" } as const;
const resourceOwner = {
  type: "string",
  description: "The organization the object belongs to.",
} as const;

/** v1 (auth and management APIs): creationDate and changeDate are both the write's time. */
export const v1DetailsSchema = {
  type: "object",
  required: ["sequence", "creationDate", "changeDate", "resourceOwner"],
  properties: { sequence, creationDate: timestamp, changeDate: timestamp, resourceOwner },
} as const;

/** v2 (user service): no creationDate. */
export const v2DetailsSchema = {
  type: "object",
  required: ["sequence", "changeDate", "resourceOwner"],
  properties: { sequence, changeDate: timestamp, resourceOwner },
} as const;

export interface DetailsJson {
  sequence: string;
  creationDate?: string;
  changeDate: string;
  resourceOwner: string;
}

export function detailsJson(written: WriteDetails, style: "v1" | "v2"): DetailsJson {
  const date = written.eventDate.toISOString();
  return {
    sequence: String(written.sequence),
    ...(style === "v1" ? { creationDate: date } : {}),
    changeDate: date,
    resourceOwner: written.resourceOwner,
  };
}
