// Who is calling and in which organization context: built once per request from its headers.
import { ApiError } from "../errors";

export interface Caller {
  userId: string;
  organizationId: string;
  tokenId: string;
  /** When the caller's token expires (null: never); tokens it mints may not outlive it. */
  tokenExpiresAt: Date | null;
  /** The caller's roles as read with its token: organization ID, or "" for the instance. */
  roles: readonly { scopeId: string; role: string }[];
}

export interface RequestContext {
  caller: Caller | null;
  /** The organization context: the x-zitadel-orgid header, else the caller's organization. */
  orgId: string | null;
}

export function requireCaller(ctx: RequestContext): Caller {
  if (!ctx.caller) throw ApiError.unauthenticated("AUTH-required", "authentication required");
  return ctx.caller;
}
