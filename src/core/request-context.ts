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
  /** Set when the bearer is a session token (SPEC 18): self-service only, no roles. */
  session?: SessionBearer;
}

/** What a session token brings to a request. */
export interface SessionBearer {
  sessionId: string;
  /** When the session's latest webAuthN check succeeded. */
  checkedAt: Date;
  /** That check is younger than SESSION_REAUTH_SECONDS (judged when the request came in). */
  recentlyChecked: boolean;
}

export interface RequestContext {
  caller: Caller | null;
  /** The organization context: the x-zitadel-orgid header, else the caller's organization. */
  orgId: string | null;
  /** The client's address as far as trusted proxies tell (rate limits); absent outside HTTP. */
  clientAddress?: string;
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

/**
 * The creator of events written for a request whose authority is a code, not a caller: an
 * anonymous guess, or a ceremony a code opened, even when some unrelated bearer came along.
 */
export const NO_CALLER = "";

/**
 * The caller of an operation that a session token may not call: everything outside SPEC 18's
 * self-service list starts here, so a new operation is closed to sessions unless it says so.
 */
export function requireCaller(ctx: RequestContext): Caller {
  if (!ctx.caller) throw ApiError.unauthenticated("AUTH-required", "authentication required");
  if (ctx.caller.session) throw sessionScope();
  return ctx.caller;
}

/**
 * The caller of a self-service operation on `targetId` (null: the caller itself). A session token
 * may act only on its own user, decided before the target is read (no existence oracle); with
 * `reauth` (adding or removing credentials) its last check must be recent.
 */
export function requireSelfService(
  ctx: RequestContext,
  targetId: string | null | undefined,
  options: { reauth?: boolean } = {},
): Caller {
  const caller = ctx.caller;
  if (!caller) throw ApiError.unauthenticated("AUTH-required", "authentication required");
  if (!caller.session) return caller;
  if (targetId != null && targetId !== caller.userId) throw sessionScope();
  if (options.reauth && !caller.session.recentlyChecked) {
    throw ApiError.failedPrecondition(
      "SESSION-reauth-required",
      "this needs a recent passkey check: check the session again (setSession) and retry",
    );
  }
  return caller;
}

function sessionScope(): ApiError {
  return ApiError.permissionDenied(
    "SESSION-scope",
    "a session token may call only self-service operations for its own user",
  );
}
