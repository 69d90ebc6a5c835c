// Passkey registration codes: creation (hash only), the one-time check, listing and revocation.
import type { EntityManager } from "typeorm";
import type { Config } from "../config";
import { CompiledInsert } from "../db/compiled-sql";
import type { Database } from "../db/database";
import type { DeliveryStateValue } from "../entities/outbox-message.entity";
import { OutboxMessageEntity } from "../entities/outbox-message.entity";
import type { CodeMedium, StoredCodeState } from "../entities/passkey-code.entity";
import { PasskeyCodeEntity } from "../entities/passkey-code.entity";
import type { UserEntity } from "../entities/user.entity";
import { ApiError } from "../errors";
import type { OutboxService } from "../mail/outbox.service";
import type { Clock, IdGenerator } from "./clock";
import type { RandomBytes } from "./code-generator";
import { generateCode } from "./code-generator";
import type { EventStore, WriteDetails } from "./event-store";
import type { KeyRing } from "./key-ring";
import { PASSKEY_EVENTS } from "./passkey-events";
import type { RequestContext } from "./request-context";
import { requireCaller } from "./request-context";
import type { UserService } from "./user.service";
import { userAggregate } from "./user.service";

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

/** How many codes a listing returns, newest first. */
export const LISTING_LIMIT = 100;

export class PasskeyCodeService {
  constructor(
    private readonly db: Database,
    private readonly events: EventStore,
    private readonly users: UserService,
    private readonly outbox: OutboxService,
    private readonly keys: KeyRing,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly settings: Config["code"],
    private readonly random?: RandomBytes,
  ) {
    users.onRemoval((tx, userId) => this.endAllOf(tx, userId));
    this.insertCode = new CompiledInsert(db, PasskeyCodeEntity, [
      "id",
      "userId",
      "organizationId",
      "codeHash",
      "medium",
      "state",
      "failedChecks",
      "creator",
      "createdAt",
      "expiresAt",
      "endedAt",
    ]);
  }

  private readonly insertCode: CompiledInsert<PasskeyCodeEntity, keyof PasskeyCodeEntity>;

  get lifetimeSeconds(): number {
    return this.settings.lifetimeSeconds;
  }

  /** Creates a code for `user` in the caller's transaction; older codes stay valid. */
  async issue(
    tx: EntityManager,
    user: UserEntity,
    creator: string,
    medium: CodeMedium,
  ): Promise<IssuedCode> {
    const code = generateCode(this.settings.length, this.random);
    const codeId = this.ids.next();
    const createdAt = this.clock.now();
    const expiresAt = new Date(createdAt.getTime() + this.settings.lifetimeSeconds * 1000);
    await this.insertCode.run(tx, [
      {
        id: codeId,
        userId: user.id,
        organizationId: user.organizationId,
        codeHash: this.keys.hashCode(code),
        medium,
        state: "ACTIVE",
        failedChecks: 0,
        creator,
        createdAt,
        expiresAt,
        endedAt: null,
      },
    ]);
    return { codeId, code, createdAt, expiresAt };
  }

  /**
   * Checks `code` against code `codeId` of `userId` and consumes it on success. A wrong code
   * counts a failed check, committed even though the call fails; after `maxFailedChecks` the code
   * is locked out. Expiry counts from creation; nothing extends it.
   */
  async verifyAndConsume(
    userId: string,
    codeId: string,
    code: string,
  ): Promise<{ userId: string; codeId: string }> {
    const verdict = await this.db.transaction(async (tx) => {
      const query = tx
        .createQueryBuilder(PasskeyCodeEntity, "c")
        .where("c.id = :codeId AND c.userId = :userId", { codeId, userId });
      const row = await this.db.forUpdate(query).getOne();
      if (!row) return ApiError.notFound("CODE-not-found", "code not found");
      const user = await this.users.findExisting(tx, row.userId);
      if (user.state !== "ACTIVE")
        return ApiError.failedPrecondition("CODE-user-not-active", "the user is not active");
      const state = effectiveState(row, this.clock.now());
      if (state !== "ACTIVE")
        return ApiError.failedPrecondition(
          `CODE-${state.toLowerCase()}`,
          `the code is ${state.toLowerCase().replace("_", " ")}`,
        );
      const now = this.clock.now();
      if (this.keys.codeMatches(code, row.codeHash)) {
        await this.update(tx, row.id, { state: "USED", endedAt: now });
        await this.events.append(tx, userAggregate(user), user.id, [
          { type: PASSKEY_EVENTS.checkSucceeded, payload: { codeId } },
        ]);
        return null;
      }
      const failedChecks = row.failedChecks + 1;
      const lockedOut = failedChecks >= this.settings.maxFailedChecks;
      await this.update(
        tx,
        row.id,
        lockedOut ? { failedChecks, state: "LOCKED_OUT", endedAt: now } : { failedChecks },
      );
      await this.events.append(tx, userAggregate(user), user.id, [
        { type: PASSKEY_EVENTS.checkFailed, payload: { codeId, failedChecks, lockedOut } },
      ]);
      return ApiError.invalidArgument("CODE-invalid", "the code is not valid");
    });
    if (verdict) throw verdict;
    return { userId, codeId };
  }

  /** A user's codes, newest first, without their values: oneself, or `user.passkey.write`. */
  async list(ctx: RequestContext, userId: string): Promise<CodeInfo[]> {
    const caller = requireCaller(ctx);
    return this.db.read(async (db) => {
      await this.users.authorizeOnUser(db, caller, userId, "user.passkey.write", {
        allowSelf: true,
        readOnly: true,
      });
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
                lastError: delivery.lastError,
                sentAt: delivery.sentAt,
              }
            : null,
        };
      });
    });
  }

  /** Ends an active code (and its queued mail): oneself, or `user.passkey.write`. */
  async revoke(ctx: RequestContext, userId: string, codeId: string): Promise<WriteDetails> {
    const caller = requireCaller(ctx);
    return this.db.transaction(async (tx) => {
      const user = await this.users.authorizeOnUser(tx, caller, userId, "user.passkey.write", {
        allowSelf: true,
        lock: true,
      });
      const row = await this.db
        .forUpdate(
          tx
            .createQueryBuilder(PasskeyCodeEntity, "c")
            .where("c.id = :codeId AND c.userId = :userId", { codeId, userId: user.id }),
        )
        .getOne();
      if (!row) throw ApiError.notFound("CODE-not-found", "code not found");
      const state = effectiveState(row, this.clock.now());
      if (state !== "ACTIVE") {
        throw ApiError.failedPrecondition(
          `CODE-${state.toLowerCase()}`,
          `the code is already ${state.toLowerCase().replace("_", " ")}`,
        );
      }
      await this.update(tx, row.id, { state: "REVOKED", endedAt: this.clock.now() });
      await this.outbox.cancelQueued(tx, { codeId: row.id });
      return this.events.append(tx, userAggregate(user), caller.userId, [
        { type: PASSKEY_EVENTS.revoked, payload: { codeId } },
      ]);
    });
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

function effectiveState(row: PasskeyCodeEntity, now: Date): CodeState {
  if (row.state === "ACTIVE" && row.expiresAt.getTime() <= now.getTime()) return "EXPIRED";
  return row.state;
}
