// Registering a passkey (ZITADEL user v2 RegisterPasskey / VerifyPasskeyRegistration), listing and
// removing stored passkeys. A code is spent only when its passkey is stored.
import type { EntityManager } from "typeorm";
import type { Config } from "../../config";
import type { Database } from "../../db/database";
import type { Metrics } from "../../core/metrics";
import { isUniqueViolation } from "../../db/database";
import { PasskeyRegistrationEntity } from "../../entities/passkey-registration.entity";
import { PasskeyEntity } from "../../entities/passkey.entity";
import { CompiledSelect, CompiledUpdate } from "../../db/compiled-sql";
import type { UserEntity } from "../../entities/user.entity";
import { ApiError } from "../../errors";
import type { OutboxService } from "../../mail/outbox.service";
import type { Clock, IdGenerator } from "../../core/clock";
import type { EventStore, NewEvent, WriteDetails } from "../../core/event-store";
import type { PasskeyCodeService } from "../links/passkey-code.service";
import { invalidCode } from "../links/passkey-code.service";
import { PASSKEY_TOKEN_EVENTS } from "../../core/event-names";
import { assertEligible } from "../links/passkey-link.service";
import { secureRandomBytes } from "../../core/random-pool";
import type { RelyingParty } from "./relying-party";
import type { PasskeyProvider } from "./passkey-providers";
import { passkeyProvider } from "./passkey-providers";
import { challengeHash, credentialHash } from "./relying-party";
import type { RequestContext } from "../../core/request-context";
import { NO_CALLER, mintingAuthority, requireSelfService } from "../../core/request-context";
import type { ExistingUser, UserService } from "../identity/user.service";
import { userAggregate } from "../identity/user.service";
import { mintedWithoutGrantRight } from "../identity/member.service";
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
  /** From the authenticator's AAGUID (community list); null when unknown. */
  provider: PasskeyProvider | null;
  /** Whose authority it was registered under (SPEC 13). */
  grantedBy: string;
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
  | "aaguid"
>;

/** Ends what hangs off removed passkeys (their sessions), in the removal's transaction. */
export type PasskeyRemovedHook = (tx: EntityManager, passkeyIds: string[]) => Promise<void>;

/** The user handle registration gave the authenticator (`user.id` bytes), base64url. */
export function userHandleOf(userId: string): string {
  return Buffer.from(userId, "utf8").toString("base64url");
}

/**
 * Why passkeys end, as the `reason` of their removed events: removed by the user or an
 * administrator, by a promotion their authority could not grant (SPEC 13), or with their user.
 */
export type PasskeyEndReason = "removed" | "role.granted" | "user.removed";

/**
 * Registrations one code may open: enough for many cancelled prompts, not for a flood of events.
 * The next attempt locks the code out, visibly (its state, an event, the page's message).
 */
export const MAX_REGISTRATIONS_PER_CODE = 20;

/** At most one clone notice per passkey in this time (SPEC 18). */
export const CLONE_NOTICE_INTERVAL_MS = 86_400_000;

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
    users.onDisable(async (tx, userId, change, user) => {
      await this.endPendingOf(tx, userId);
      if (change !== "remove") return [];
      return this.endPasskeys(tx, user, await this.passkeysOf(tx, userId), "user.removed");
    });
    users.onRoleGranted((tx, userId, scopeId) =>
      this.endRegisteredWithoutGrantRight(tx, userId, scopeId),
    );
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
      // With a code, an unknown or removed user answers like a wrong code: the answer tells
      // nothing about which users exist.
      const user = code
        ? await this.users.findIfExisting(tx, request.userId, true)
        : await this.users.findExisting(tx, request.userId, true);
      if (!user) return refuse(invalidCode());
      // With a code, the code is the authority: events name no caller, whoever else came along.
      // Without one, the caller is the user itself (checked above).
      const creator = code ? NO_CALLER : request.userId;
      // The code before the user's state (SPEC 5's order): whoever holds no valid code learns
      // nothing about the user, not even whether it is locked or a machine.
      if (code) {
        const failure =
          (await this.codes.check(tx, user, code.id, code.code, creator)) ??
          (await this.limitAttempts(tx, user, code.id, creator));
        if (failure) return refuse(failure);
      }
      assertEligible(user, false);
      await this.assertRoomFor(tx, user.id);
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
      const user = await this.users.findIfExisting(tx, request.userId, true);
      if (!user) throw registrationNotFound();
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
        return refuse(error instanceof ApiError ? error : verificationFailed(error));
      }
      if (await this.credentialExists(tx, credential.credentialHash)) {
        await this.endRegistration(tx, registration.id);
        return refuse(credentialTaken());
      }
      // Under the user's row lock, so two ceremonies finishing together cannot both take the last place.
      const full = await this.roomFor(tx, user.id);
      if (full) {
        await this.endRegistration(tx, registration.id);
        return refuse(full);
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
            ...noticeAddressee(user, user.email),
            passkeyName: name,
            addedAt: now,
          },
          this.settings.outbox.giveUpAfterSeconds,
        );
      }
      // A code-opened ceremony names no caller; one without a code is the user's own (requireSelf).
      const creator = registration.codeId !== null ? NO_CALLER : user.id;
      return this.events.append(tx, userAggregate(user), creator, [
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
        provider: passkeyProvider(row.aaguid),
        grantedBy: row.grantedBy,
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
    const result = await this.db.transaction(async (tx) => {
      const user = await this.users.authorizeOnUser(tx, caller, userId, "user.passkey.write", {
        allowSelf: true,
        lock: true,
      });
      const passkeys = !isResourceId(passkeyId)
        ? []
        : await this.passkeysOf(tx, user.id, passkeyId);
      if (passkeys.length !== 1) throw ApiError.notFound("PASSKEY-not-found", "passkey not found");
      const ended = await this.endPasskeys(tx, user, passkeys, "removed");
      const signals = await this.signals(tx, user);
      if (caller.session && signals.allAcceptedCredentialIds.length === 0 && !confirmLast) {
        throw ApiError.failedPrecondition(
          "PASSKEY-last",
          "this is your last passkey: without it you cannot sign in; confirm with confirmLast",
        );
      }
      const details = await this.events.append(tx, userAggregate(user), caller.userId, ended);
      return { details, signals };
    });
    this.outbox.queued();
    return result;
  }

  /**
   * The one way a stored passkey ends (removal, a promotion its authority could not grant, the
   * user's removal): deletes the rows and, unless the user itself is gone, mails the user a notice
   * per passkey (a security notice: never cancelled). Returns the removed events, which the caller
   * writes on the user with its own. Whatever else a passkey carries (the sessions it verified)
   * ends here too.
   */
  async endPasskeys(
    tx: EntityManager,
    user: UserEntity,
    passkeys: readonly { id: string; name: string }[],
    reason: PasskeyEndReason,
  ): Promise<NewEvent[]> {
    if (passkeys.length === 0) return [];
    await tx
      .createQueryBuilder()
      .delete()
      .from(PasskeyEntity)
      .where("userId = :userId AND id IN (:...ids)", {
        userId: user.id,
        ids: passkeys.map((passkey) => passkey.id),
      })
      .execute();
    for (const hook of this.removedHooks) {
      await hook(
        tx,
        passkeys.map((passkey) => passkey.id),
      );
    }
    const removedAt = this.clock.now();
    if (user.email && reason !== "user.removed") {
      for (const passkey of passkeys) {
        await this.outbox.enqueuePasskeyRemovedNotice(
          tx,
          {
            ...noticeAddressee(user, user.email),
            passkeyName: passkey.name,
            removedAt,
          },
          this.settings.outbox.giveUpAfterSeconds,
        );
      }
    }
    return passkeys.map((passkey) => ({
      type: PASSKEY_TOKEN_EVENTS.removed,
      payload: { passkeyId: passkey.id, reason },
    }));
  }

  /** SPEC 13: passkeys registered under an authority that could not grant the new role end. */
  private async endRegisteredWithoutGrantRight(
    tx: EntityManager,
    userId: string,
    scopeId: string,
  ): Promise<NewEvent[]> {
    const ids = await mintedWithoutGrantRight(
      tx.createQueryBuilder(PasskeyEntity, "p").where("p.userId = :userId", { userId }),
      { id: "p.id", grantedBy: "p.grantedBy", owner: "p.userId" },
      scopeId,
    );
    if (ids.length === 0) return [];
    const user: ExistingUser = await this.users.findExisting(tx, userId);
    const passkeys = (await this.passkeysOf(tx, userId)).filter((p) => ids.includes(p.id));
    return this.endPasskeys(tx, user, passkeys, "role.granted");
  }

  /** A user's stored passkeys (one of them, with `passkeyId`), oldest first: IDs and names. */
  private async passkeysOf(
    tx: EntityManager,
    userId: string,
    passkeyId?: string,
  ): Promise<{ id: string; name: string }[]> {
    const query = tx
      .createQueryBuilder(PasskeyEntity, "p")
      .select(["p.id", "p.name"])
      .where("p.userId = :userId", { userId })
      .orderBy("p.createdAt", "ASC")
      .addOrderBy("p.id", "ASC");
    if (passkeyId !== undefined) query.andWhere("p.id = :passkeyId", { passkeyId });
    return query.getMany();
  }

  /** RESOURCE_EXHAUSTED when the user holds PASSKEY_MAX_PER_USER passkeys, else null. */
  private async roomFor(tx: EntityManager, userId: string): Promise<ApiError | null> {
    const stored = await tx
      .createQueryBuilder(PasskeyEntity, "p")
      .where("p.userId = :userId", { userId })
      .getCount();
    const max = this.settings.webauthn.maxPerUser;
    if (stored < max) return null;
    return new ApiError(
      "RESOURCE_EXHAUSTED",
      "PASSKEY-max-per-user",
      `the user already holds ${max} passkeys; remove one before adding another`,
    );
  }

  private async assertRoomFor(tx: EntityManager, userId: string): Promise<void> {
    const full = await this.roomFor(tx, userId);
    if (full) throw full;
  }

  // Sign-in's statements, built once (see src/db/compiled-sql.ts).
  private readonly selectCredentialIds = new CompiledSelect(
    this.db,
    PasskeyEntity,
    ["credentialId"],
    (column) => `WHERE ${column("userId")} = ? ORDER BY ${column("createdAt")} ASC`,
  );
  private readonly selectByCredentialHash = new CompiledSelect(
    this.db,
    PasskeyEntity,
    [
      "id",
      "userId",
      "credentialId",
      "publicKey",
      "signCount",
      "transports",
      "grantedBy",
      "cloneWarning",
      "cloneNotifiedAt",
      "name",
      "aaguid",
    ],
    (column) => `WHERE ${column("credentialHash")} = ?`,
  );
  private readonly updatePasskey = new CompiledUpdate(
    this.db,
    PasskeyEntity,
    (column) => `${column("id")} = ?`,
  );

  /** The Signal API payloads for `user`'s current passkeys (SPEC 18). */
  async signals(
    db: EntityManager,
    user: Pick<UserEntity, "id" | "username" | "displayName">,
  ): Promise<PasskeySignals> {
    const rows = await this.selectCredentialIds.all(db, [user.id]);
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
    return (await this.selectByCredentialHash.one(db, [credentialHash(credentialId)])) ?? null;
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
    const recorded = await this.updatePasskey.run(
      tx,
      {
        backedUp: update.backedUp,
        lastUsedAt: update.usedAt,
        ...(update.signCount === undefined ? {} : { signCount: update.signCount }),
      },
      [passkeyId],
    );
    return recorded === 1;
  }

  /**
   * Flags a suspected clone and, at most once a day per passkey, queues the security notice (never
   * cancelled by a state change) in the caller's transaction. Whether a day has passed is decided
   * by one conditional UPDATE of `cloneNotifiedAt`, so two detections at once (other processes,
   * Galera nodes) cannot both mail. Resolves to true when a notice was queued: call
   * `noticesQueued()` after the commit.
   */
  async flagClone(
    tx: EntityManager,
    user: NoticeUser,
    passkey: StoredPasskey,
    now: Date,
  ): Promise<boolean> {
    await tx
      .createQueryBuilder()
      .update(PasskeyEntity)
      .set({ cloneWarning: true })
      .where("id = :id", { id: passkey.id })
      .execute();
    const claimed = await tx
      .createQueryBuilder()
      .update(PasskeyEntity)
      .set({ cloneNotifiedAt: now })
      .where("id = :id", { id: passkey.id })
      .andWhere("(cloneNotifiedAt IS NULL OR cloneNotifiedAt <= :dayAgo)", {
        dayAgo: new Date(now.getTime() - CLONE_NOTICE_INTERVAL_MS),
      })
      .execute();
    if (claimed.affected !== 1 || !user.email) return false;
    await this.outbox.enqueuePasskeyCloneNotice(
      tx,
      {
        ...noticeAddressee(user, user.email),
        passkeyName: passkey.name,
        provider: passkeyProvider(passkey.aaguid)?.name ?? null,
        detectedAt: now,
      },
      this.settings.outbox.giveUpAfterSeconds,
    );
    return true;
  }

  /** Wakes this process's outbox worker after a transaction that queued a notice has committed. */
  noticesQueued(): void {
    this.outbox.queued();
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
    // Only its hash is stored: a reader of the table cannot answer someone else's ceremony.
    await tx
      .createQueryBuilder()
      .insert()
      .into(PasskeyRegistrationEntity)
      .values({
        id: passkeyId,
        userId: user.id,
        organizationId: user.organizationId,
        codeId,
        challenge: challengeHash(challenge),
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
    if (!registration) throw registrationNotFound();
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

/** Who a passkey notice mail is about and goes to. */
type NoticeUser = Pick<
  UserEntity,
  "id" | "organizationId" | "email" | "displayName" | "preferredLanguage"
>;

/** The addressee of a passkey notice: the user, at `recipient` (their address, once checked). */
function noticeAddressee(user: NoticeUser, recipient: string) {
  return {
    userId: user.id,
    organizationId: user.organizationId,
    recipient,
    displayName: user.displayName,
    language: user.preferredLanguage,
  };
}

function registrationNotFound(): ApiError {
  return ApiError.notFound("PASSKEY-registration-not-found", "passkey registration not found");
}

function credentialTaken(): ApiError {
  return ApiError.alreadyExists(
    "PASSKEY-credential-exists",
    "this authenticator's credential is already registered",
  );
}
