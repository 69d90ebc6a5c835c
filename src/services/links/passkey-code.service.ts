// Passkey registration codes: creation (hash only), the one-time check, listing and revocation.
import type { EntityManager } from "typeorm";
import type { Config } from "../../config";
import { CompiledInsert } from "../../db/compiled-sql";
import type { Database } from "../../db/database";
import type { DeliveryStateValue } from "../../entities/outbox-message.entity";
import { OutboxMessageEntity } from "../../entities/outbox-message.entity";
import type { CodeMedium, StoredCodeState } from "../../entities/passkey-code.entity";
import { PasskeyCodeEntity } from "../../entities/passkey-code.entity";
import type { UserEntity } from "../../entities/user.entity";
import { ApiError } from "../../errors";
import type { OutboxService } from "../../mail/outbox.service";
import type { Clock, IdGenerator } from "../../core/clock";
import type { RandomBytes } from "./code-generator";
import { generateCode } from "./code-generator";
import type { EventStore, NewEvent, WriteDetails } from "../../core/event-store";
import type { KeyRing } from "../../core/key-ring";
import { PASSKEY_EVENTS } from "../../core/event-names";
import type { PermissionService } from "../identity/permissions";
import type { Caller, RequestContext } from "../../core/request-context";
import { mintedWithoutGrantRight } from "../identity/member.service";
import { mintingAuthority, requireSelfService } from "../../core/request-context";
import { parseDbDate } from "../identity/token.service";
import { isResourceId } from "../../core/validation";
import type { UserService } from "../identity/user.service";
import { userAggregate } from "../identity/user.service";

export type CodeState = StoredCodeState | "EXPIRED";

export interface IssuedCode {
  codeId: string;
  /** The only plain copy of the code: it goes into the response or the encrypted outbox. */
  code: string;
  createdAt: Date;
  expiresAt: Date;
}

export interface CodeInfo {
  id: string;
  userId: string;
  state: CodeState;
  medium: CodeMedium;
  createdAt: Date;
  expiresAt: Date;
  delivery: {
    state: DeliveryStateValue;
    attempts: number;
    lastError: string | null;
    sentAt: Date | null;
  } | null;
}

/**
 * The guard of a new code's INSERT: the user holds fewer than the limit of ACTIVE, unexpired
 * codes. Parameters: user ID, "ACTIVE", now, limit. The user's row lock (taken by every minting
 * path) makes the count exact. Fixed text with placeholders only (it may run in a batch).
 */
const ACTIVE_BELOW_LIMIT =
  "FROM (SELECT COUNT(*) AS n FROM passkey_codes WHERE user_id = ? AND state = ? " +
  "AND expires_at > ?) AS active WHERE active.n < ?";

/** When the user's next ACTIVE code expires. Parameters: user ID, "ACTIVE", now. */
const NEXT_ACTIVE_EXPIRY =
  "SELECT MIN(expires_at) AS at FROM passkey_codes WHERE user_id = ? AND state = ? " +
  "AND expires_at > ?";

/** What a caller without `user.write` on the user reads instead of the SMTP server's answer. */
export const GENERIC_ERROR = "the mail could not be delivered";

/** How many codes a listing returns, newest first. */
export const LISTING_LIMIT = 100;

export class PasskeyCodeService {
  constructor(
    private readonly db: Database,
    private readonly events: EventStore,
    private readonly users: UserService,
    private readonly permissions: PermissionService,
    private readonly outbox: OutboxService,
    private readonly keys: KeyRing,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly settings: Config["code"],
    /** SEND_RATE_WINDOW_SECONDS: the send limits count the codes and link mails of this window. */
    private readonly sendWindowSeconds: number,
    private readonly random?: RandomBytes,
  ) {
    users.onDisable((tx, userId) => this.endAllOf(tx, userId));
    users.onRoleGranted((tx, userId, scopeId) =>
      this.endMintedWithoutGrantRight(tx, userId, scopeId),
    );
    users.onEmailChanged((tx, userId, previous) => this.endMailedTo(tx, userId, previous));
    this.insertCode = new CompiledInsert(db, PasskeyCodeEntity, [
      "id",
      "userId",
      "organizationId",
      "codeHash",
      "medium",
      "state",
      "failedChecks",
      "creator",
      "grantedBy",
      "sessionId",
      "createdAt",
      "expiresAt",
      "endedAt",
    ]);
  }

  private readonly insertCode: CompiledInsert<PasskeyCodeEntity, keyof PasskeyCodeEntity>;

  get lifetimeSeconds(): number {
    return this.settings.lifetimeSeconds;
  }

  /**
   * Creates a code for `user` in the caller's transaction, minted by `caller` under the authority
   * its token carries for `user` (SPEC 13, `mintingAuthority`); older codes stay valid, except
   * that a session keeps one unused code at a time (SPEC 18): its previous one is revoked.
   */
  async issue(
    tx: EntityManager,
    user: UserEntity,
    caller: Caller,
    medium: CodeMedium,
  ): Promise<IssuedCode> {
    const sessionId = caller.session?.sessionId ?? null;
    if (sessionId !== null) await this.revokeMintedBy(tx, sessionId, user);
    const code = generateCode(this.settings.length, this.random);
    const codeId = this.ids.next();
    const createdAt = this.clock.now();
    const expiresAt = new Date(createdAt.getTime() + this.settings.lifetimeSeconds * 1000);
    const row = {
      id: codeId,
      userId: user.id,
      organizationId: user.organizationId,
      codeHash: this.keys.hashCode(code),
      medium,
      state: "ACTIVE" as const,
      failedChecks: 0,
      creator: caller.userId,
      grantedBy: mintingAuthority(caller, user.id),
      sessionId,
      createdAt,
      expiresAt,
      endedAt: null,
    };
    const inserted = await this.insertCode.runIf(tx, row, ACTIVE_BELOW_LIMIT, [
      user.id,
      "ACTIVE",
      this.insertCode.prepare("expiresAt", createdAt),
      this.settings.maxActive,
    ]);
    if (!inserted) throw await this.activeLimitReached(tx, user.id, createdAt);
    return { codeId, code, createdAt, expiresAt };
  }

  /** RESOURCE_EXHAUSTED until the user's next ACTIVE code expires (the rejection path only). */
  private async activeLimitReached(tx: EntityManager, userId: string, now: Date) {
    const [next] = await this.db.query<{ at: Date | string | null }[]>(tx, NEXT_ACTIVE_EXPIRY, [
      userId,
      "ACTIVE",
      this.insertCode.prepare("expiresAt", now),
    ]);
    return ApiError.resourceExhausted(
      "CODE-max-active",
      `the user already has ${this.settings.maxActive} active codes: revoking one ` +
        "(revokePasskeyRegistrationCode) frees a slot at once, otherwise one frees when the next expires",
      next?.at ? parseDbDate(next.at) : now,
      now,
    );
  }

  /**
   * Deletes up to `limit` codes that ended (used, revoked, locked out or expired) before the
   * purge cutoff, with their outbox rows; their events stay. Resolves to the number deleted, so a
   * caller can repeat until a batch comes back short.
   */
  async purgeEnded(limit: number): Promise<number> {
    const cutoff = this.purgeCutoff();
    return this.db.transaction(async (tx) => {
      const ids = await this.db.deleteBatch(
        tx,
        PasskeyCodeEntity,
        "e.expiresAt < :cutoff AND (e.endedAt IS NULL OR e.endedAt < :cutoff)",
        { cutoff },
        limit,
      );
      if (ids.length > 0) await this.outbox.deleteOfCodes(tx, ids);
      return ids.length;
    });
  }

  /** Deletes up to `limit` notice mails sent or given up before the same cutoff. */
  purgeNotices(limit: number): Promise<number> {
    return this.outbox.purgeNotices(limit, this.purgeCutoff());
  }

  /**
   * PASSKEY_CODE_RETENTION_DAYS before now, or the start of the send window when that is earlier:
   * a code or mail the send limits still count must stay, or they would undercount.
   */
  private purgeCutoff(): Date {
    const keepMs = Math.max(this.settings.retentionDays * 86_400, this.sendWindowSeconds) * 1000;
    return new Date(this.clock.now().getTime() - keepMs);
  }

  /**
   * Checks `code` against code `codeId` of `user` in the caller's transaction, which holds the
   * user's row. An unknown code ID answers exactly like a wrong value. A wrong value counts a
   * failed check and is *returned* rather than thrown, so the caller commits the count before it
   * fails the request; after `maxFailedChecks` the code is locked out. A right value does not
   * spend the code: `consume` does, once a passkey is stored. Expiry counts from creation.
   */
  async check(
    tx: EntityManager,
    user: UserEntity,
    codeId: string,
    code: string,
    creator: string,
  ): Promise<ApiError | null> {
    if (!isResourceId(codeId)) return invalidCode();
    const row = await this.db
      .forUpdate(
        tx
          .createQueryBuilder(PasskeyCodeEntity, "c")
          .where("c.id = :codeId AND c.userId = :userId", { codeId, userId: user.id }),
      )
      .getOne();
    if (!row) return invalidCode();
    const state = effectiveState(row, this.clock.now());
    if (state !== "ACTIVE") return endedCode(state);
    if (this.keys.codeMatches(code, row.codeHash)) {
      await this.events.append(tx, userAggregate(user), creator, [
        { type: PASSKEY_EVENTS.checkSucceeded, payload: { codeId } },
      ]);
      return null;
    }
    const failedChecks = row.failedChecks + 1;
    const lockedOut = failedChecks >= this.settings.maxFailedChecks;
    await this.update(
      tx,
      row.id,
      lockedOut
        ? { failedChecks, state: "LOCKED_OUT", endedAt: this.clock.now() }
        : { failedChecks },
    );
    await this.events.append(tx, userAggregate(user), creator, [
      { type: PASSKEY_EVENTS.checkFailed, payload: { codeId, failedChecks, lockedOut } },
    ]);
    return invalidCode();
  }

  /**
   * Spends an ACTIVE code when the passkey it authorised is stored: the row is re-read under a
   * lock, so a code revoked, expired or used meanwhile fails the whole registration.
   */
  async consume(tx: EntityManager, codeId: string): Promise<{ grantedBy: string }> {
    const row = await this.db
      .forUpdate(tx.createQueryBuilder(PasskeyCodeEntity, "c").where("c.id = :codeId", { codeId }))
      .getOne();
    if (!row) throw endedCode("REVOKED");
    const state = effectiveState(row, this.clock.now());
    if (state !== "ACTIVE") throw endedCode(state);
    await this.update(tx, row.id, { state: "USED", endedAt: this.clock.now() });
    return { grantedBy: row.grantedBy };
  }

  /**
   * A user's codes, newest first, without their values: oneself, or `user.passkey.write`. The
   * SMTP server's words in `lastError` (host names, addresses) are shown only to callers holding
   * `user.write` on the user; others see a generic line.
   */
  async list(ctx: RequestContext, userId: string): Promise<CodeInfo[]> {
    const caller = requireSelfService(ctx, userId);
    return this.db.read(async (db) => {
      const user = await this.users.authorizeOnUser(db, caller, userId, "user.passkey.write", {
        allowSelf: true,
        readOnly: true,
      });
      const detailed = this.permissions.has(caller, "user.write", user.organizationId);
      const rows = await db
        .createQueryBuilder(PasskeyCodeEntity, "c")
        .leftJoinAndMapOne("c.delivery", OutboxMessageEntity, "o", "o.codeId = c.id")
        .where("c.userId = :userId", { userId })
        .orderBy("c.createdAt", "DESC")
        .addOrderBy("c.id", "DESC")
        .take(LISTING_LIMIT)
        .getMany();
      const now = this.clock.now();
      return rows.map((row) => {
        const delivery = (row as PasskeyCodeEntity & { delivery?: OutboxMessageEntity }).delivery;
        return {
          id: row.id,
          userId: row.userId,
          state: effectiveState(row, now),
          medium: row.medium,
          createdAt: row.createdAt,
          expiresAt: row.expiresAt,
          delivery: delivery
            ? {
                state: delivery.state,
                attempts: delivery.attempts,
                lastError:
                  delivery.lastError === null || detailed ? delivery.lastError : GENERIC_ERROR,
                sentAt: delivery.sentAt,
              }
            : null,
        };
      });
    });
  }

  /** Ends an active code (and its queued mail): oneself, or `user.passkey.write`. */
  async revoke(ctx: RequestContext, userId: string, codeId: string): Promise<WriteDetails> {
    const caller = requireSelfService(ctx, userId);
    return this.db.transaction(async (tx) => {
      const user = await this.users.authorizeOnUser(tx, caller, userId, "user.passkey.write", {
        allowSelf: true,
        lock: true,
      });
      const row =
        isResourceId(codeId) &&
        (await this.db
          .forUpdate(
            tx
              .createQueryBuilder(PasskeyCodeEntity, "c")
              .where("c.id = :codeId AND c.userId = :userId", { codeId, userId: user.id }),
          )
          .getOne());
      if (!row) throw ApiError.notFound("CODE-not-found", "code not found");
      const state = effectiveState(row, this.clock.now());
      if (state !== "ACTIVE") throw endedCode(state);
      await this.update(tx, row.id, { state: "REVOKED", endedAt: this.clock.now() });
      await this.outbox.cancelQueued(tx, { codeId: row.id });
      return this.events.append(tx, userAggregate(user), caller.userId, [
        { type: PASSKEY_EVENTS.revoked, payload: { codeId } },
      ]);
    });
  }

  /** SPEC 13: a code someone minted for a user before its promotion must not outlive it. */
  private async endMintedWithoutGrantRight(
    tx: EntityManager,
    userId: string,
    scopeId: string,
  ): Promise<NewEvent[]> {
    const ids = await mintedWithoutGrantRight(
      tx
        .createQueryBuilder(PasskeyCodeEntity, "c")
        .where("c.userId = :userId AND c.state = :active", { userId, active: "ACTIVE" }),
      { id: "c.id", grantedBy: "c.grantedBy", owner: "c.userId" },
      scopeId,
    );
    const events: NewEvent[] = [];
    for (const id of ids) {
      await this.update(tx, id, { state: "REVOKED", endedAt: this.clock.now() });
      await this.outbox.cancelQueued(tx, { codeId: id });
      events.push({
        type: PASSKEY_EVENTS.revoked,
        payload: { codeId: id, reason: "role.granted" },
      });
    }
    return events;
  }

  /**
   * Revokes the ACTIVE codes a session minted (a newer one from it, or signing out), with their
   * queued mails and their events on the user.
   */
  async revokeMintedBy(
    tx: EntityManager,
    sessionId: string,
    user: Pick<UserEntity, "id" | "organizationId">,
  ): Promise<void> {
    const rows = await tx
      .createQueryBuilder(PasskeyCodeEntity, "c")
      .select(["c.id"])
      .where("c.sessionId = :sessionId AND c.state = :active", { sessionId, active: "ACTIVE" })
      .getMany();
    const events = await this.revokeCodes(
      tx,
      rows.map((row) => row.id),
      "session",
    );
    if (events.length > 0) await this.events.append(tx, userAggregate(user), user.id, events);
  }

  /**
   * A changed address: the user's live codes whose link mail went, or is queued to go, to the
   * previous address end with it (queued mails are cancelled), so a mailbox the user left cannot
   * register a passkey for it. Links returned to a caller are not tied to an address and stay.
   */
  private async endMailedTo(
    tx: EntityManager,
    userId: string,
    previousEmail: string,
  ): Promise<NewEvent[]> {
    const rows = await tx
      .createQueryBuilder(PasskeyCodeEntity, "c")
      .innerJoin(OutboxMessageEntity, "o", "o.codeId = c.id")
      .select("c.id", "id")
      .where("c.userId = :userId AND c.state = :active AND c.expiresAt > :now", {
        userId,
        active: "ACTIVE",
        now: this.clock.now(),
      })
      .andWhere("LOWER(o.recipient) = :recipient", { recipient: previousEmail.toLowerCase() })
      .getRawMany<{ id: string }>();
    return this.revokeCodes(
      tx,
      rows.map((row) => row.id),
      "email.changed",
    );
  }

  /** Revokes ACTIVE codes and cancels their queued mails; returns the events to write. */
  private async revokeCodes(tx: EntityManager, ids: string[], reason: string): Promise<NewEvent[]> {
    const events: NewEvent[] = [];
    for (const id of ids) {
      await this.update(tx, id, { state: "REVOKED", endedAt: this.clock.now() });
      await this.outbox.cancelQueued(tx, { codeId: id });
      events.push({ type: PASSKEY_EVENTS.revoked, payload: { codeId: id, reason } });
    }
    return events;
  }

  private async endAllOf(tx: EntityManager, userId: string): Promise<void> {
    await tx
      .createQueryBuilder()
      .update(PasskeyCodeEntity)
      .set({ state: "REVOKED", endedAt: this.clock.now() })
      .where("userId = :userId AND state = :active", { userId, active: "ACTIVE" })
      .execute();
    await this.outbox.cancelQueued(tx, { userId });
  }

  /**
   * Ends an ACTIVE code as LOCKED_OUT for a reason other than wrong values (the code opened too
   * many registrations), with a check-failed event that names the reason; resolves to the error
   * its holder gets, the same as for any locked-out code.
   */
  async lockOut(
    tx: EntityManager,
    user: UserEntity,
    codeId: string,
    creator: string,
    reason: string,
  ): Promise<ApiError> {
    await this.update(tx, codeId, { state: "LOCKED_OUT", endedAt: this.clock.now() });
    await this.events.append(tx, userAggregate(user), creator, [
      { type: PASSKEY_EVENTS.checkFailed, payload: { codeId, lockedOut: true, reason } },
    ]);
    return endedCode("LOCKED_OUT");
  }

  /** Changes an ACTIVE code; the row is locked by the caller, the state guard is the backstop. */
  private async update(
    tx: EntityManager,
    id: string,
    changes: Partial<PasskeyCodeEntity>,
  ): Promise<void> {
    const result = await tx
      .createQueryBuilder()
      .update(PasskeyCodeEntity)
      .set(changes)
      .where("id = :id AND state = :active", { id, active: "ACTIVE" })
      .execute();
    if (result.affected !== 1) {
      throw ApiError.failedPrecondition("CODE-ended", "the code was ended meanwhile");
    }
  }
}

/** A wrong value, an unknown code ID and (at registerPasskey) an unknown user all answer this. */
export function invalidCode(): ApiError {
  return ApiError.invalidArgument("CODE-invalid", "the code is not valid");
}

/** Which ended state: the page tells the user what to do. */
const ENDED_CODE_IDS = {
  EXPIRED: "CODE-expired",
  USED: "CODE-used",
  REVOKED: "CODE-revoked",
  LOCKED_OUT: "CODE-locked_out",
} as const;

function endedCode(state: Exclude<CodeState, "ACTIVE">): ApiError {
  return ApiError.failedPrecondition(
    ENDED_CODE_IDS[state],
    `the code is ${state.toLowerCase().replace("_", " ")}`,
  );
}

function effectiveState(row: PasskeyCodeEntity, now: Date): CodeState {
  if (row.state === "ACTIVE" && row.expiresAt.getTime() <= now.getTime()) return "EXPIRED";
  return row.state;
}
