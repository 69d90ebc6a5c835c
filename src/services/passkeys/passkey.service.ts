// Registering a passkey (ZITADEL user v2 RegisterPasskey / VerifyPasskeyRegistration), listing and
// removing stored passkeys. A code is spent only when its passkey is stored.
import type { EntityManager } from "typeorm";
import type { Config } from "../../config";
import type { Database } from "../../db/database";
import type { Metrics } from "../../core/metrics";
import { isUniqueViolation } from "../../db/database";
import { PasskeyRegistrationEntity } from "../../entities/passkey-registration.entity";
import { PasskeyEntity } from "../../entities/passkey.entity";
import type { UserEntity } from "../../entities/user.entity";
import { ApiError } from "../../errors";
import type { OutboxService } from "../../mail/outbox.service";
import type { Clock, IdGenerator } from "../../core/clock";
import type { EventStore, WriteDetails } from "../../core/event-store";
import type { PasskeyCodeService } from "../links/passkey-code.service";
import { PASSKEY_TOKEN_EVENTS } from "../../core/event-names";
import { assertEligible } from "../links/passkey-link.service";
import { secureRandomBytes } from "../../core/random-pool";
import type { RelyingParty } from "./relying-party";
import { credentialHash } from "./relying-party";
import type { RequestContext } from "../../core/request-context";
import { mintingAuthority, requireSelfService } from "../../core/request-context";
import type { UserService } from "../identity/user.service";
import { userAggregate } from "../identity/user.service";
import { isResourceId, parseInput, trimmed } from "../../core/validation";

export type PasskeyAuthenticatorKind = "UNSPECIFIED" | "PLATFORM" | "CROSS_PLATFORM";

export interface RegisterPasskeyRequest {
  userId: string;
  /** Required unless the caller is the user itself. */
  code?: { id: string; code: string } | null;
  authenticator?: PasskeyAuthenticatorKind | null;
  /** When given, must equal the configured RP ID. */
  domain?: string | null;
}

export interface OpenedRegistration {
  details: WriteDetails;
  passkeyId: string;
  /** `{ publicKey: PublicKeyCredentialCreationOptionsJSON }`, as ZITADEL returns it. */
  publicKeyCredentialCreationOptions: Record<string, unknown>;
}

export interface VerifyPasskeyRequest {
  userId: string;
  passkeyId: string;
  /** The browser's RegistrationResponseJSON. */
  publicKeyCredential: Record<string, unknown>;
  passkeyName: string;
}

export interface PasskeyInfo {
  id: string;
  name: string;
  createdAt: Date;
  registeredWithCodeId: string | null;
  backedUp: boolean;
  backupEligible: boolean;
  lastUsedAt: Date | null;
  cloneWarning: boolean;
}

/**
 * WebAuthn Signal API payloads (SPEC 18): what the browser's credential manager should hold for
 * this user, so a removed passkey disappears from the device and renamed users show right.
 */
export interface PasskeySignals {
  rpId: string;
  /** The user handle registration set: base64url of the UTF-8 user ID. */
  userId: string;
  allAcceptedCredentialIds: string[];
  name: string;
  displayName: string;
}

/** A stored passkey as sign-in needs it (public key material, never a secret). */
export type StoredPasskey = Pick<
  PasskeyEntity,
  | "id"
  | "userId"
  | "credentialId"
  | "publicKey"
  | "signCount"
  | "transports"
  | "grantedBy"
  | "cloneWarning"
  | "cloneNotifiedAt"
  | "name"
>;

/** Ends what hangs off removed passkeys (their sessions), in the removal's transaction. */
export type PasskeyRemovedHook = (tx: EntityManager, passkeyIds: string[]) => Promise<void>;

/** The user handle registration gave the authenticator (`user.id` bytes), base64url. */
export function userHandleOf(userId: string): string {
  return Buffer.from(userId, "utf8").toString("base64url");
}

/**
 * Registrations one code may open: enough for many cancelled prompts, not for a flood of events.
 * The next attempt locks the code out, visibly (its state, an event, the page's message).
 */
export const MAX_REGISTRATIONS_PER_CODE = 20;

/** How long a registration row is kept after its timeout. */
const REGISTRATION_KEPT_MS = 86_400_000;

const ATTACHMENT = { PLATFORM: "platform", CROSS_PLATFORM: "cross-platform" } as const;

/** Shown in listings and put into the notice mail. */
const passkeyName = trimmed(200);

/** A failure that still commits what the transaction wrote (a counted check, an ended challenge). */
interface Refusal {
  refused: ApiError;
}

const refuse = (error: ApiError): Refusal => ({ refused: error });

/**
 * Why a response did not verify, in words of our own: the library's message quotes the expected
 * challenge and the accepted origins, which are not the caller's to read.
 */
function verificationFailed(error: unknown): ApiError {
  const reason = error instanceof Error ? error.message : "";
  const what = /challenge/i.test(reason)
    ? "it answers another challenge"
    : /origin/i.test(reason)
      ? "it comes from an origin this server does not accept"
      : /rp ?id/i.test(reason)
        ? "it was made for another relying party"
        : /user verif/i.test(reason)
          ? "the authenticator did not verify the user"
          : "it is not a valid passkey registration response";
  return ApiError.invalidArgument(
    "PASSKEY-verification-failed",
    `the passkey could not be verified: ${what}`,
  );
}
const isRefusal = (value: unknown): value is Refusal =>
  typeof value === "object" && value !== null && "refused" in value;

export class PasskeyService {
  constructor(
    private readonly db: Database,
    private readonly events: EventStore,
    private readonly users: UserService,
    private readonly codes: PasskeyCodeService,
    private readonly outbox: OutboxService,
    private readonly relyingParty: RelyingParty,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly settings: Pick<Config, "webauthn"> & {
      outbox: Pick<Config["outbox"], "giveUpAfterSeconds">;
    },
    private readonly metrics: Pick<Metrics, "passkeyRegistered">,
  ) {
    users.onDisable((tx, userId) => this.endPendingOf(tx, userId));
  }

  private readonly removedHooks: PasskeyRemovedHook[] = [];

  /** Registers a hook run when passkeys are removed (see PasskeyRemovedHook). */
  onRemoved(hook: PasskeyRemovedHook): void {
    this.removedHooks.push(hook);
  }

  /**
   * Opens a pending registration. With a code, no token is needed: the code is the authority
   * (checked in constant time; a wrong value counts toward lockout). Without one, only the user
   * itself may register: an administrator mints a code instead. A newer registration with the
   * same code (or, without code, of the same user) ends the older one.
   */
  async register(
    ctx: RequestContext,
    request: RegisterPasskeyRequest,
  ): Promise<OpenedRegistration> {
    if (request.domain != null && request.domain !== this.relyingParty.id) {
      throw ApiError.invalidArgument(
        "PASSKEY-domain",
        `domain must be the relying party ID ${this.relyingParty.id}`,
      );
    }
    const code = request.code ?? null;
    // Through a session: for oneself only, and without a code only after a recent check.
    if (ctx.caller?.session) requireSelfService(ctx, request.userId, { reauth: !code });
    if (!code) {
      const caller = requireSelfService(ctx, request.userId, { reauth: true });
      if (caller.userId !== request.userId) {
        throw ApiError.permissionDenied(
          "PASSKEY-code-required",
          "registering a passkey for another user needs a registration code",
        );
      }
    }
    const outcome = await this.db.transaction(async (tx) => {
      const user = await this.users.findExisting(tx, request.userId, true);
      const creator = ctx.caller?.userId ?? user.id;
      // The code before the user's state (SPEC 5's order): whoever holds no valid code learns
      // nothing about the user, not even whether it is locked or a machine.
      if (code) {
        const failure =
          (await this.codes.check(tx, user, code.id, code.code, creator)) ??
          (await this.limitAttempts(tx, user, code.id, creator));
        if (failure) return refuse(failure);
      }
      assertEligible(user, false);
      return this.open(tx, user, code?.id ?? null, creator, request.authenticator);
    });
    if (isRefusal(outcome)) throw outcome.refused;
    return outcome;
  }

  /**
   * Stores the passkey, spends the code and closes the registration in one transaction, after
   * checking challenge, origin, RP ID and user verification. Any failure stores nothing and
   * leaves the code ACTIVE; the challenge is ended, so each one verifies at most once.
   */
  async verify(ctx: RequestContext, request: VerifyPasskeyRequest): Promise<WriteDetails> {
    // A registration opened through a session inside the re-authentication window may be
    // verified until it expires.
    if (ctx.caller?.session) requireSelfService(ctx, request.userId);
    const name = parseInput(passkeyName, request.passkeyName, "PASSKEY-name");
    const outcome = await this.db.transaction(async (tx) => {
      const user = await this.users.findExisting(tx, request.userId, true);
      const registration = await this.lockRegistration(tx, request.passkeyId, user.id);
      if (registration.codeId === null) this.requireSelf(ctx, user.id);
      const now = this.clock.now();
      if (registration.state !== "PENDING") {
        throw ApiError.failedPrecondition(
          "PASSKEY-registration-ended",
          "this registration was already verified or ended; start a new one",
        );
      }
      if (registration.expiresAt.getTime() <= now.getTime()) {
        await this.endRegistration(tx, registration.id);
        return refuse(
          ApiError.failedPrecondition(
            "PASSKEY-registration-expired",
            "the registration timed out; start a new one",
          ),
        );
      }
      assertEligible(user, false);
      let credential;
      try {
        credential = await this.relyingParty.verifyRegistration(
          request.publicKeyCredential,
          registration.challenge,
        );
      } catch (error) {
        await this.endRegistration(tx, registration.id);
        return refuse(verificationFailed(error));
      }
      if (await this.credentialExists(tx, credential.credentialHash)) {
        await this.endRegistration(tx, registration.id);
        return refuse(credentialTaken());
      }
      // Re-read under a lock: a code revoked or expired since registerPasskey fails it all. The
      // passkey carries the code's authority, or the signed-in user's credential's (SPEC 13).
      const grantedBy =
        registration.codeId !== null
          ? (await this.codes.consume(tx, registration.codeId)).grantedBy
          : mintingAuthority(requireSelfService(ctx, user.id), user.id);
      await this.insertPasskey(tx, {
        id: registration.id,
        userId: user.id,
        organizationId: user.organizationId,
        credentialId: credential.credentialId,
        credentialHash: credential.credentialHash,
        publicKey: credential.publicKey,
        signCount: credential.signCount,
        transports: JSON.stringify(credential.transports),
        aaguid: credential.aaguid,
        backedUp: credential.backedUp,
        name,
        registeredWithCodeId: registration.codeId,
        grantedBy,
        backupEligible: credential.backupEligible,
        lastUsedAt: null,
        cloneWarning: false,
        cloneNotifiedAt: null,
        createdAt: now,
      });
      await tx
        .createQueryBuilder()
        .update(PasskeyRegistrationEntity)
        .set({ state: "VERIFIED", endedAt: now })
        .where("id = :id", { id: registration.id })
        .execute();
      if (user.email) {
        await this.outbox.enqueuePasskeyNotice(
          tx,
          {
            userId: user.id,
            organizationId: user.organizationId,
            recipient: user.email,
            displayName: user.displayName,
            language: user.preferredLanguage,
            passkeyName: name,
            addedAt: now,
          },
          this.settings.outbox.giveUpAfterSeconds,
        );
      }
      return this.events.append(tx, userAggregate(user), ctx.caller?.userId ?? user.id, [
        {
          type: PASSKEY_TOKEN_EVENTS.verified,
          payload: { passkeyId: registration.id, name, codeId: registration.codeId },
        },
      ]);
    });
    if (isRefusal(outcome)) throw outcome.refused;
    this.metrics.passkeyRegistered();
    this.outbox.queued();
    return outcome;
  }

  /** A user's stored passkeys, oldest first, never key material: oneself, or `user.read`. */
  async list(ctx: RequestContext, userId: string): Promise<PasskeyInfo[]> {
    const caller = requireSelfService(ctx, userId);
    return this.db.read(async (db) => {
      await this.users.authorizeOnUser(db, caller, userId, "user.read", {
        allowSelf: true,
        readOnly: true,
      });
      const rows = await db
        .createQueryBuilder(PasskeyEntity, "p")
        .where("p.userId = :userId", { userId })
        .orderBy("p.createdAt", "ASC")
        .addOrderBy("p.id", "ASC")
        .getMany();
      return rows.map((row) => ({
        id: row.id,
        name: row.name,
        createdAt: row.createdAt,
        registeredWithCodeId: row.registeredWithCodeId,
        backedUp: row.backedUp,
        backupEligible: row.backupEligible,
        lastUsedAt: row.lastUsedAt,
        cloneWarning: row.cloneWarning,
      }));
    });
  }

  /**
   * Deletes a stored passkey: oneself, or `user.passkey.write` in the user's organization. The
   * sessions it verified end with it. Through a session, the last passkey goes only with
   * `confirmLast` (the user could not sign in again).
   */
  async remove(
    ctx: RequestContext,
    userId: string,
    passkeyId: string,
    confirmLast = false,
  ): Promise<{ details: WriteDetails; signals: PasskeySignals }> {
    const caller = requireSelfService(ctx, userId, { reauth: true });
    return this.db.transaction(async (tx) => {
      const user = await this.users.authorizeOnUser(tx, caller, userId, "user.passkey.write", {
        allowSelf: true,
        lock: true,
      });
      const result = !isResourceId(passkeyId)
        ? { affected: 0 }
        : await tx
            .createQueryBuilder()
            .delete()
            .from(PasskeyEntity)
            .where("id = :passkeyId AND userId = :userId", { passkeyId, userId: user.id })
            .execute();
      if (result.affected !== 1) throw ApiError.notFound("PASSKEY-not-found", "passkey not found");
      const signals = await this.signals(tx, user);
      if (caller.session && signals.allAcceptedCredentialIds.length === 0 && !confirmLast) {
        throw ApiError.failedPrecondition(
          "PASSKEY-last",
          "this is your last passkey: without it you cannot sign in; confirm with confirmLast",
        );
      }
      for (const hook of this.removedHooks) await hook(tx, [passkeyId]);
      const details = await this.events.append(tx, userAggregate(user), caller.userId, [
        { type: PASSKEY_TOKEN_EVENTS.removed, payload: { passkeyId } },
      ]);
      return { details, signals };
    });
  }

  /** The Signal API payloads for `user`'s current passkeys (SPEC 18). */
  async signals(
    db: EntityManager,
    user: Pick<UserEntity, "id" | "username" | "displayName">,
  ): Promise<PasskeySignals> {
    const rows = await db
      .createQueryBuilder(PasskeyEntity, "p")
      .select(["p.credentialId"])
      .where("p.userId = :userId", { userId: user.id })
      .orderBy("p.createdAt", "ASC")
      .getMany();
    return {
      rpId: this.relyingParty.id,
      userId: userHandleOf(user.id),
      allAcceptedCredentialIds: rows.map((row) => row.credentialId),
      name: user.username,
      displayName: user.displayName,
    };
  }

  /** The stored passkey with this credential ID (base64url), looked up by its indexed hash. */
  async findByCredentialId(db: EntityManager, credentialId: string): Promise<StoredPasskey | null> {
    return db
      .createQueryBuilder(PasskeyEntity, "p")
      .select([
        "p.id",
        "p.userId",
        "p.credentialId",
        "p.publicKey",
        "p.signCount",
        "p.transports",
        "p.grantedBy",
        "p.cloneWarning",
        "p.cloneNotifiedAt",
        "p.name",
      ])
      .where("p.credentialHash = :hash", { hash: credentialHash(credentialId) })
      .getOne();
  }

  /** The credential IDs and transports of a user's passkeys (an allow-list for sign-in). */
  async credentialsOf(
    db: EntityManager,
    userId: string,
  ): Promise<{ credentialId: string; transports: string[] }[]> {
    const rows = await db
      .createQueryBuilder(PasskeyEntity, "p")
      .select(["p.credentialId", "p.transports"])
      .where("p.userId = :userId", { userId })
      .getMany();
    return rows.map((row) => ({
      credentialId: row.credentialId,
      transports: row.transports ? (JSON.parse(row.transports) as string[]) : [],
    }));
  }

  /**
   * Records a verified sign-in on the passkey: exactly one row, or the passkey was removed
   * meanwhile (false). `signCount` undefined keeps the stored count.
   */
  async recordSignIn(
    tx: EntityManager,
    passkeyId: string,
    update: { signCount?: number; backedUp: boolean; usedAt: Date },
  ): Promise<boolean> {
    const result = await tx
      .createQueryBuilder()
      .update(PasskeyEntity)
      .set({
        backedUp: update.backedUp,
        lastUsedAt: update.usedAt,
        ...(update.signCount === undefined ? {} : { signCount: update.signCount }),
      })
      .where("id = :passkeyId", { passkeyId })
      .execute();
    return result.affected === 1;
  }

  /**
   * Flags a suspected clone; resolves to true when the owner should be mailed (at most one
   * notice a day per passkey), and then records the notice time.
   */
  async flagClone(
    tx: EntityManager,
    user: Pick<UserEntity, "id" | "email">,
    passkey: StoredPasskey,
    now: Date,
  ): Promise<boolean> {
    const notify =
      passkey.cloneNotifiedAt === null ||
      now.getTime() - passkey.cloneNotifiedAt.getTime() >= 86_400_000;
    await tx
      .createQueryBuilder()
      .update(PasskeyEntity)
      .set({ cloneWarning: true, ...(notify ? { cloneNotifiedAt: now } : {}) })
      .where("id = :id", { id: passkey.id })
      .execute();
    return notify;
  }

  /** Ends every pending registration of a user (locked, deactivated or removed). */
  async endPendingOf(tx: EntityManager, userId: string): Promise<void> {
    await tx
      .createQueryBuilder()
      .update(PasskeyRegistrationEntity)
      .set({ state: "ENDED", endedAt: this.clock.now() })
      .where("userId = :userId AND state = :pending", { userId, pending: "PENDING" })
      .execute();
  }

  /**
   * Deletes registrations a day past their timeout (verified, ended or abandoned): they matter
   * only while a ceremony can still finish. The stored passkey and the events stay.
   */
  async purgeClosedRegistrations(limit: number): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - REGISTRATION_KEPT_MS);
    const deleted = await this.db.transaction((tx) =>
      this.db.deleteBatch(
        tx,
        PasskeyRegistrationEntity,
        "e.expiresAt < :cutoff",
        { cutoff },
        limit,
      ),
    );
    return deleted.length;
  }

  private async open(
    tx: EntityManager,
    user: UserEntity,
    codeId: string | null,
    creator: string,
    authenticator: PasskeyAuthenticatorKind | null | undefined,
  ): Promise<OpenedRegistration> {
    const now = this.clock.now();
    const superseded = tx
      .createQueryBuilder()
      .update(PasskeyRegistrationEntity)
      .set({ state: "ENDED", endedAt: now })
      .where("state = :pending", { pending: "PENDING" });
    await (
      codeId === null
        ? superseded.andWhere("userId = :userId AND codeId IS NULL", { userId: user.id })
        : superseded.andWhere("codeId = :codeId", { codeId })
    ).execute();
    const passkeyId = this.ids.next();
    const challenge = secureRandomBytes(32).toString("base64url");
    await tx
      .createQueryBuilder()
      .insert()
      .into(PasskeyRegistrationEntity)
      .values({
        id: passkeyId,
        userId: user.id,
        organizationId: user.organizationId,
        codeId,
        challenge,
        state: "PENDING",
        createdAt: now,
        expiresAt: new Date(now.getTime() + this.settings.webauthn.timeoutSeconds * 1000),
        endedAt: null,
      })
      .updateEntity(false)
      .execute();
    const existing = await tx
      .createQueryBuilder(PasskeyEntity, "p")
      .select(["p.credentialId", "p.transports"])
      .where("p.userId = :userId", { userId: user.id })
      .getMany();
    const publicKey = await this.relyingParty.creationOptions(
      { id: user.id, username: user.username, displayName: user.displayName },
      challenge,
      existing.map((passkey) => ({
        credentialId: passkey.credentialId,
        transports: passkey.transports ? (JSON.parse(passkey.transports) as string[]) : [],
      })),
      authenticator && authenticator !== "UNSPECIFIED" ? ATTACHMENT[authenticator] : undefined,
    );
    const details = await this.events.append(tx, userAggregate(user), creator, [
      { type: PASSKEY_TOKEN_EVENTS.added, payload: { passkeyId, codeId } },
    ]);
    return {
      details,
      passkeyId,
      publicKeyCredentialCreationOptions: { publicKey } as unknown as Record<string, unknown>,
    };
  }

  /** Null while the code may open another registration; else locks it out and says so. */
  private async limitAttempts(
    tx: EntityManager,
    user: UserEntity,
    codeId: string,
    creator: string,
  ): Promise<ApiError | null> {
    const opened = await tx
      .createQueryBuilder(PasskeyRegistrationEntity, "r")
      .where("r.codeId = :codeId", { codeId })
      .getCount();
    if (opened < MAX_REGISTRATIONS_PER_CODE) return null;
    return this.codes.lockOut(tx, user, codeId, creator, "too-many-registrations");
  }

  private async lockRegistration(
    tx: EntityManager,
    passkeyId: string,
    userId: string,
  ): Promise<PasskeyRegistrationEntity> {
    const registration = !isResourceId(passkeyId)
      ? null
      : await this.db
          .forUpdate(
            tx
              .createQueryBuilder(PasskeyRegistrationEntity, "r")
              .where("r.id = :passkeyId AND r.userId = :userId", { passkeyId, userId }),
          )
          .getOne();
    if (!registration) {
      throw ApiError.notFound("PASSKEY-registration-not-found", "passkey registration not found");
    }
    return registration;
  }

  /** A registration opened without a code is the signed-in user's own: only it may finish it. */
  private requireSelf(ctx: RequestContext, userId: string): void {
    if (requireSelfService(ctx, userId).userId !== userId) {
      throw ApiError.permissionDenied(
        "PASSKEY-not-own",
        "only the user who opened this registration may verify it",
      );
    }
  }

  private async endRegistration(tx: EntityManager, id: string): Promise<void> {
    await tx
      .createQueryBuilder()
      .update(PasskeyRegistrationEntity)
      .set({ state: "ENDED", endedAt: this.clock.now() })
      .where("id = :id AND state = :pending", { id, pending: "PENDING" })
      .execute();
  }

  private async credentialExists(tx: EntityManager, hash: string): Promise<boolean> {
    const count = await tx
      .createQueryBuilder(PasskeyEntity, "p")
      .where("p.credentialHash = :hash", { hash })
      .getCount();
    return count > 0;
  }

  /** The unique index is the backstop for two registrations of one credential racing. */
  private async insertPasskey(tx: EntityManager, passkey: PasskeyEntity): Promise<void> {
    try {
      await tx.createQueryBuilder().insert().into(PasskeyEntity).values(passkey).execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw credentialTaken();
      throw error;
    }
  }
}

function credentialTaken(): ApiError {
  return ApiError.alreadyExists(
    "PASSKEY-credential-exists",
    "this authenticator's credential is already registered",
  );
}
