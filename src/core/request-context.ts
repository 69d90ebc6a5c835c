// Who is calling and in which organization context: built once per request from its headers.
import { ApiError } from "../errors";

export interface Caller {
  userId: string;
  organizationId: string;
  tokenId: string;
  /** When the caller's token expires (null: never); tokens it mints may not outlive it. */
  tokenExpiresAt: Date | null;
  /** Whose authority the caller's token was minted under (SPEC 13; see `mintingAuthority`). */
  tokenGrantedBy: string;
  /** The caller's roles as read with its token: organization ID, or "" for the instance. */
  roles: readonly { scopeId: string; role: string }[];
}

export interface RequestContext {
  caller: Caller | null;
  /** The organization context: the x-zitadel-orgid header, else the caller's organization. */
  orgId: string | null;
}

/**
 * Whose authority a credential the caller mints for `targetId` carries (SPEC 13): the caller's,
 * except when it mints for itself, then that of the token it calls with. A token someone planted
 * therefore cannot be laundered into the user's "own" credentials that survive a promotion.
 */
export function mintingAuthority(caller: Caller, targetId: string): string {
  return targetId === caller.userId ? caller.tokenGrantedBy : caller.userId;
}

/**
 * The creator recorded on events the command line writes (`npm run cli -- token`, `demo`): it
 * holds database access, so it acts as the root of trust, without a token or a user.
 */
export const CLI_CREATOR = "CLI";

/**
 * The command line as a caller: instance-owner power in `organizationId`'s context, recorded as
 * CLI_CREATOR. Only the CLI builds it; no request can (a token always names a real user).
 */
export function commandLineContext(organizationId: string): RequestContext {
  return {
    orgId: organizationId,
    caller: {
      userId: CLI_CREATOR,
      organizationId,
      tokenId: CLI_CREATOR,
      tokenExpiresAt: null,
      tokenGrantedBy: CLI_CREATOR,
      roles: [{ scopeId: "", role: "IAM_OWNER" }],
    },
  };
}

export function requireCaller(ctx: RequestContext): Caller {
  if (!ctx.caller) throw ApiError.unauthenticated("AUTH-required", "authentication required");
  return ctx.caller;
}
