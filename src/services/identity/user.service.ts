// Users: creation, lookup, state changes and removal, each with its events in one transaction.
import type { EntityManager } from "typeorm";
import { z } from "zod";
import { CompiledSelect } from "../../db/compiled-sql";
import type { Database } from "../../db/database";
import { isUniqueViolation } from "../../db/database";
import { MembershipEntity } from "../../entities/membership.entity";
import type { UserStateValue } from "../../entities/user.entity";
import { UserEntity } from "../../entities/user.entity";
import { ApiError } from "../../errors";
import type { Clock, IdGenerator } from "../../core/clock";
import type { EventStore, NewEvent, WriteDetails } from "../../core/event-store";
import type { OrganizationService } from "./organization.service";
import type { Permission, PermissionService } from "./permissions";
import type { Caller, RequestContext } from "../../core/request-context";
import { requireCaller, requireSelfService } from "../../core/request-context";
import {
  columnLength,
  email,
  identifyingName,
  isResourceId,
  languageTag,
  optionalTrimmed,
  parseInput,
  trimmed,
} from "../../core/validation";

const length = (property: keyof UserEntity) => columnLength(UserEntity, property);

/**
 * The key usernames are compared by, stored in `users.username_key` under a unique index (binary
 * collation on MariaDB/MySQL, as on SQLite), following PRECIS UsernameCaseMapped (RFC 8265):
 * NFKC maps width and compatibility forms ("ａｄａ", "ﬁ"), then case is folded. JavaScript has
 * no case folding; upper- then lower-casing folds what Unicode's full case folding folds ("ß"
 * and "ss", final and medial sigma) and also merges the Turkish dotless "ı" with "i", a
 * look-alike anyway. The last NFKC recomposes what case mapping took apart.
 */
export const usernameKey = (username: string): string =>
  username.normalize("NFKC").toUpperCase().toLowerCase().normalize("NFKC");

const username = identifyingName(length("username"), "USER-username-invisible")
  .regex(/^[^\s]+$/, "must not contain white space")
  .refine((value) => usernameKey(value).length <= length("usernameKey"), {
    message: "is too long once normalised",
  });

const humanInput = z.object({
  organizationId: z.string().nullish(),
  username,
  email: email(length("email"))
    .nullish()
    .transform((value) => value ?? null),
  emailVerified: z
    .boolean()
    .nullish()
    .transform((value) => value ?? false),
  givenName: trimmed(length("givenName")),
  familyName: trimmed(length("familyName")),
  displayName: optionalTrimmed(length("displayName")),
  preferredLanguage: languageTag(length("preferredLanguage")),
});
export type AddHumanUserInput = z.input<typeof humanInput>;

const machineInput = z.object({
  organizationId: z.string().nullish(),
  username,
  name: trimmed(length("displayName")),
});
export type AddMachineUserInput = z.input<typeof machineInput>;

/**
 * A change of a person's profile: an omitted (or null) field stays as it is, with
 * addHumanUser's rules for the given ones; an empty preferredLanguage clears the language.
 */
const humanUpdate = z.object({
  email: email(length("email")).nullish(),
  givenName: trimmed(length("givenName")).nullish(),
  familyName: trimmed(length("familyName")).nullish(),
  displayName: trimmed(length("displayName")).nullish(),
  preferredLanguage: z
    .union(
      [z.literal("").transform(() => null), languageTag(length("preferredLanguage"))],
      "must be a language tag such as en or de-CH, or empty to clear it",
    )
    .optional(),
});
export type UpdateHumanUserInput = Omit<z.input<typeof humanUpdate>, "preferredLanguage"> & {
  userId: string;
  preferredLanguage?: string | null;
};

/** The page size of `list` when none is asked for, and the largest one allowed. */
export const USER_LIST_LIMITS = { default: 100, max: 1000 } as const;

const userQuery = z.object({
  organizationId: z.string().nullish(),
  username: z.string().trim().max(length("username")).nullish(),
  email: z.string().trim().max(length("email")).nullish(),
  state: z.enum(["ACTIVE", "INACTIVE", "LOCKED"]).nullish(),
  limit: z
    .number()
    .int()
    .min(1)
    .max(USER_LIST_LIMITS.max)
    .nullish()
    .transform((value) => value ?? USER_LIST_LIMITS.default),
  offset: z
    .number()
    .int()
    .min(0)
    .nullish()
    .transform((value) => value ?? 0),
});
export type UserQuery = z.input<typeof userQuery>;

/** What a caller chooses about a new user; IDs, state and timestamps are the service's. */
export type NewUserFields = Pick<
  UserEntity,
  | "type"
  | "username"
  | "email"
  | "emailVerified"
  | "givenName"
  | "familyName"
  | "displayName"
  | "preferredLanguage"
>;

export type StateChange = "deactivate" | "reactivate" | "lock" | "unlock" | "remove";

/** Which state each change needs and yields; `from` lists the states it applies to. */
const TRANSITIONS: Record<
  StateChange,
  { from: UserStateValue[]; to: UserStateValue; event: string }
> = {
  deactivate: { from: ["ACTIVE", "LOCKED"], to: "INACTIVE", event: "user.deactivated" },
  reactivate: { from: ["INACTIVE"], to: "ACTIVE", event: "user.reactivated" },
  lock: { from: ["ACTIVE"], to: "LOCKED", event: "user.locked" },
  unlock: { from: ["LOCKED"], to: "ACTIVE", event: "user.unlocked" },
  remove: { from: ["ACTIVE", "INACTIVE", "LOCKED"], to: "REMOVED", event: "user.removed" },
};

/** The state changes that end a user's pending work (SPEC 13); the others revive none of it. */
export type DisablingChange = Extract<StateChange, "lock" | "deactivate" | "remove">;

/**
 * Ends what belongs to a user that is being locked, deactivated or removed (codes, queued mails,
 * tokens, pending registrations, passkeys), in the state change's transaction, which holds the
 * user's row; may return events to write on the user with the state change's.
 */
export type UserDisableHook = (
  tx: EntityManager,
  userId: string,
  change: DisablingChange,
  /** The user as read before the change. */
  user: ExistingUser,
) => Promise<NewEvent[] | void>;

/**
 * Ends the credentials of a user who was just granted roles in `scopeId` that were minted by
 * someone else who may not grant roles there; returns the events to write on the user.
 */
export type RoleGrantHook = (
  tx: EntityManager,
  userId: string,
  scopeId: string,
) => Promise<NewEvent[]>;

/**
 * Ends what was emailed to a person's previous address (its codes' links), in the transaction
 * that changes the address; returns the events to write on the user.
 */
export type EmailChangeHook = (
  tx: EntityManager,
  userId: string,
  previousEmail: string,
) => Promise<NewEvent[]>;

/** What the API layers read of a user: the profile, never the row's bookkeeping columns. */
export type UserProfile = Pick<
  UserEntity,
  | "id"
  | "organizationId"
  | "type"
  | "state"
  | "username"
  | "email"
  | "emailVerified"
  | "givenName"
  | "familyName"
  | "preferredLanguage"
  | "displayName"
>;

export type ExistingUser = UserEntity & { roleScopes: readonly string[] };

export class UserService {
  private readonly disableHooks: UserDisableHook[] = [];
  private readonly roleGrantHooks: RoleGrantHook[] = [];
  private readonly emailChangeHooks: EmailChangeHook[] = [];

  constructor(
    private readonly db: Database,
    private readonly events: EventStore,
    private readonly permissions: PermissionService,
    private readonly organizations: OrganizationService,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
  ) {}

  private readonly selectUser = new CompiledSelect(
    this.db,
    UserEntity,
    [
      "id",
      "organizationId",
      "type",
      "state",
      "username",
      "usernameKey",
      "email",
      "emailVerified",
      "givenName",
      "familyName",
      "displayName",
      "preferredLanguage",
      "sequence",
      "createdAt",
      "updatedAt",
    ] as const,
    // One row per role: the authority check needs the target's scopes, read in the same round trip.
    (column) => `LEFT JOIN memberships m ON m.user_id = ${column("id")} WHERE ${column("id")} = ?`,
    { roleScope: "m.scope_id" },
  );

  /** Registers a hook run by lock, deactivate and remove (see UserDisableHook). */
  onDisable(hook: UserDisableHook): void {
    this.disableHooks.push(hook);
  }

  /** Registers a hook run by `roleGranted` (see RoleGrantHook). */
  onRoleGranted(hook: RoleGrantHook): void {
    this.roleGrantHooks.push(hook);
  }

  /** Registers a hook run when `updateHuman` changes an address (see EmailChangeHook). */
  onEmailChanged(hook: EmailChangeHook): void {
    this.emailChangeHooks.push(hook);
  }

  /** Runs the role-grant hooks for a membership just added in `tx`; returns their events. */
  async roleGranted(tx: EntityManager, userId: string, scopeId: string): Promise<NewEvent[]> {
    const events: NewEvent[] = [];
    for (const hook of this.roleGrantHooks) events.push(...(await hook(tx, userId, scopeId)));
    return events;
  }

  /**
   * The user unless missing or removed (both NOT_FOUND), with the scopes it holds roles in;
   * `lock` holds its row (and its memberships) until commit.
   */
  async findExisting(db: EntityManager, id: string, lock = false): Promise<ExistingUser> {
    const user = await this.findIfExisting(db, id, lock);
    if (!user) throw ApiError.notFound("USER-not-found", "user not found");
    return user;
  }

  /**
   * As `findExisting`, with null for a missing or removed user: for callers to whom that is an
   * answer of their own. A database failure still throws (it is never "no such user").
   */
  async findIfExisting(db: EntityManager, id: string, lock = false): Promise<ExistingUser | null> {
    const suffix = lock && this.db.dialect === "mysql" ? " FOR UPDATE" : "";
    const rows = isResourceId(id) ? await this.selectUser.split(db, [id], suffix) : [];
    const first = rows[0]?.entity;
    if (!first || first.state === "REMOVED") return null;
    // Held under the row lock: a batched transaction numbers the user's events from it.
    if (suffix) this.db.holdSequence(db, "users", first.id, Number(first.sequence));
    const roleScopes = new Set<string>();
    for (const { extra } of rows) {
      if (typeof extra.roleScope === "string") roleScopes.add(extra.roleScope);
    }
    return Object.assign(first, { roleScopes: [...roleScopes] });
  }

  /** The ID of the existing user with this username (any letter case) in `organizationId`. */
  async idByLoginName(
    db: EntityManager,
    organizationId: string,
    loginName: string,
  ): Promise<string | null> {
    const row = await db
      .createQueryBuilder(UserEntity, "u")
      .select("u.id", "id")
      .where("u.organizationId = :organizationId AND u.usernameKey = :key", {
        organizationId,
        key: loginName.trim().toLowerCase(),
      })
      .getRawOne<{ id: string }>();
    return row?.id ?? null;
  }

  /**
   * Resolves the target user, then checks the caller's permission in the *target's*
   * organization (acting on oneself needs none when `allowSelf`). NOT_FOUND comes before
   * PERMISSION_DENIED, as ZITADEL clients expect.
   *
   * Writes on another user also need the authority of SPEC 13 (the right to grant roles in every
   * scope the target holds roles in, see `PermissionService.requireAuthorityOver`): otherwise a
   * minted credential would carry the target's power elsewhere. `readOnly` operations skip it.
   */
  async authorizeOnUser(
    db: EntityManager,
    caller: Caller,
    targetId: string,
    permission: Permission,
    options: { allowSelf: boolean; lock?: boolean; readOnly?: boolean },
  ): Promise<ExistingUser> {
    const target = await this.findExisting(db, targetId, options.lock ?? false);
    if (options.allowSelf && target.id === caller.userId) return target;
    this.permissions.require(caller, permission, target.organizationId);
    if (!options.readOnly) this.permissions.requireAuthorityOver(caller, target.roleScopes);
    return target;
  }

  async get(ctx: RequestContext, id: string): Promise<UserEntity> {
    const caller = requireSelfService(ctx, id);
    return this.db.read((db) =>
      this.authorizeOnUser(db, caller, id, "user.read", { allowSelf: true, readOnly: true }),
    );
  }

  /**
   * ZITADEL ListUsers, in short: the users the caller may read (itself, and those of the
   * organizations where it holds `user.read`; an instance role that grants it: all), filtered by
   * organization, username and email (exact, case-insensitive) and state, oldest first, with the
   * number of matches before paging. The x-zitadel-orgid header does not narrow it: the
   * `organizationId` filter does.
   */
  async list(
    ctx: RequestContext,
    input: UserQuery,
  ): Promise<{ totalResult: number; users: UserProfile[] }> {
    const caller = requireCaller(ctx);
    const query = parseInput(userQuery, input, "USER-list-input");
    const readable = this.permissions.organizationsWith(caller, "user.read");
    if (query.organizationId && !isResourceId(query.organizationId)) {
      return { totalResult: 0, users: [] };
    }
    return this.db.read(async (db) => {
      const select = db
        .createQueryBuilder(UserEntity, "u")
        .select(PROFILE_COLUMNS.map((column) => `u.${column}`))
        .where("u.state <> :removed", { removed: "REMOVED" });
      if (readable !== "all") {
        select.andWhere(
          readable.length > 0
            ? "(u.organizationId IN (:...readable) OR u.id = :self)"
            : "u.id = :self",
          { readable, self: caller.userId },
        );
      }
      if (query.organizationId)
        select.andWhere("u.organizationId = :organizationId", {
          organizationId: query.organizationId,
        });
      if (query.username)
        select.andWhere("u.usernameKey = :usernameKey", {
          usernameKey: query.username.toLowerCase(),
        });
      if (query.email)
        select.andWhere("LOWER(u.email) = :email", { email: query.email.toLowerCase() });
      if (query.state) select.andWhere("u.state = :state", { state: query.state });
      const [users, totalResult] = await select
        .orderBy("u.createdAt", "ASC")
        .addOrderBy("u.id", "ASC")
        .skip(query.offset)
        .take(query.limit)
        .getManyAndCount();
      return { totalResult, users };
    });
  }

  /**
   * Changes a person's address, names or language: oneself, or `user.write` in its organization
   * under SPEC 13's authority rule (an address is where credentials are sent). A changed address
   * is unverified again, and the links emailed to the old one end (hooks: their codes are
   * revoked and queued mails cancelled), so a link cannot keep reaching a mailbox the user left.
   * A display name that was the default (given and family name) follows a changed name. Nothing
   * to change: the current details, nothing written.
   */
  async updateHuman(ctx: RequestContext, input: UpdateHumanUserInput): Promise<WriteDetails> {
    const caller = requireCaller(ctx);
    return this.db.transaction(async (tx) => {
      const user = await this.authorizeOnUser(tx, caller, input.userId, "user.write", {
        allowSelf: true,
        lock: true,
      });
      if (user.type !== "HUMAN") {
        throw ApiError.failedPrecondition(
          "USER-not-human",
          "only a person's profile can be updated; this is a machine user",
        );
      }
      const data = parseInput(
        humanUpdate,
        { ...input, preferredLanguage: input.preferredLanguage ?? undefined },
        "USER-human-input",
      );
      const { changes, events, previousEmail } = profileChanges(user, data);
      if (events.length === 0) {
        return {
          sequence: user.sequence,
          eventDate: user.updatedAt,
          resourceOwner: user.organizationId,
        };
      }
      await tx
        .createQueryBuilder()
        .update(UserEntity)
        .set({ ...changes, updatedAt: this.clock.now() })
        .where("id = :id", { id: user.id })
        .execute();
      if (previousEmail) {
        for (const hook of this.emailChangeHooks)
          events.push(...(await hook(tx, user.id, previousEmail)));
      }
      return this.events.append(tx, userAggregate(user), caller.userId, events);
    });
  }

  async addHuman(ctx: RequestContext, input: AddHumanUserInput) {
    const organizationId = await this.authorizeCreation(ctx, input.organizationId);
    const data = parseInput(humanInput, input, "USER-human-input");
    return this.create(ctx, organizationId, {
      type: "HUMAN",
      username: data.username,
      email: data.email,
      emailVerified: data.emailVerified,
      givenName: data.givenName,
      familyName: data.familyName,
      displayName: data.displayName ?? `${data.givenName} ${data.familyName}`,
      preferredLanguage: data.preferredLanguage,
    });
  }

  async addMachine(ctx: RequestContext, input: AddMachineUserInput) {
    const organizationId = await this.authorizeCreation(ctx, input.organizationId);
    const data = parseInput(machineInput, input, "USER-machine-input");
    return this.create(ctx, organizationId, {
      type: "MACHINE",
      username: data.username,
      email: null,
      emailVerified: false,
      givenName: null,
      familyName: null,
      displayName: data.name,
      preferredLanguage: null,
    });
  }

  /** Applies a state change; nobody can deactivate, lock or remove themselves. */
  async changeState(
    ctx: RequestContext,
    userId: string,
    change: StateChange,
  ): Promise<WriteDetails> {
    const caller = requireCaller(ctx);
    const transition = TRANSITIONS[change];
    return this.db.transaction(async (tx) => {
      const user = await this.authorizeOnUser(tx, caller, userId, "user.write", {
        allowSelf: false,
        lock: true,
      });
      if (user.id === caller.userId && change !== "reactivate" && change !== "unlock") {
        throw ApiError.failedPrecondition("USER-self", `a user cannot ${change} itself`);
      }
      if (!transition.from.includes(user.state)) {
        throw ApiError.failedPrecondition(
          `USER-state-${change}` as const,
          `user is ${user.state.toLowerCase()}; ${change} needs ${transition.from.join(" or ").toLowerCase()}`,
        );
      }
      await tx
        .createQueryBuilder()
        .update(UserEntity)
        .set({
          state: transition.to,
          updatedAt: this.clock.now(),
          ...(change === "remove" ? { usernameKey: null } : {}),
        })
        .where("id = :id", { id: user.id })
        .execute();
      const ended: NewEvent[] = [];
      if (isDisabling(change)) {
        for (const hook of this.disableHooks)
          ended.push(...((await hook(tx, user.id, change, user)) ?? []));
      }
      if (change === "remove") await this.endMemberships(tx, user.id);
      return this.events.append(tx, userAggregate(user), caller.userId, [
        ...ended,
        { type: transition.event },
      ]);
    });
  }

  private async endMemberships(tx: EntityManager, userId: string): Promise<void> {
    await tx
      .createQueryBuilder()
      .delete()
      .from(MembershipEntity)
      .where("userId = :userId", { userId })
      .execute();
  }

  /** Resolves the organization (input, else the request's context), then checks `user.write` there. */
  private async authorizeCreation(
    ctx: RequestContext,
    requested: string | null | undefined,
  ): Promise<string> {
    const caller = requireCaller(ctx);
    const organizationId = requested ?? ctx.orgId ?? caller.organizationId;
    await this.db.read((db) => this.organizations.requireExists(db, organizationId));
    this.permissions.require(caller, "user.write", organizationId);
    return organizationId;
  }

  private async create(
    ctx: RequestContext,
    organizationId: string,
    fields: NewUserFields,
  ): Promise<{ details: WriteDetails; userId: string }> {
    const caller = requireCaller(ctx);
    const userId = this.ids.next();
    return this.db.transaction(async (tx) => {
      await this.insertUser(tx, userId, organizationId, fields);
      const event: NewEvent = {
        type: fields.type === "HUMAN" ? "user.human.added" : "user.machine.added",
        payload: { username: fields.username, displayName: fields.displayName },
      };
      const details = await this.events.append(
        tx,
        { type: "user", id: userId, resourceOwner: organizationId },
        caller.userId,
        [event],
      );
      return { details, userId };
    });
  }

  /** Inserts the row only (ALREADY_EXISTS on a taken username); the caller appends the event. */
  async insertUser(
    tx: EntityManager,
    id: string,
    organizationId: string,
    fields: NewUserFields,
  ): Promise<void> {
    const key = usernameKey(fields.username);
    const taken = await tx
      .createQueryBuilder(UserEntity, "u")
      .select("u.id", "id")
      .where("u.organizationId = :organizationId AND u.usernameKey = :key", {
        organizationId,
        key,
      })
      .getRawOne<{ id: string }>();
    if (taken) throw ApiError.alreadyExists("USER-username-taken", "username is already taken");
    const now = this.clock.now();
    try {
      await tx
        .createQueryBuilder()
        .insert()
        .into(UserEntity)
        .values({
          ...fields,
          id,
          organizationId,
          usernameKey: key,
          state: "ACTIVE",
          sequence: 0,
          createdAt: now,
          updatedAt: now,
        })
        .updateEntity(false)
        .execute();
    } catch (error) {
      if (isUniqueViolation(error))
        throw ApiError.alreadyExists("USER-username-taken", "username is already taken");
      throw error;
    }
  }
}

const PROFILE_COLUMNS = [
  "id",
  "organizationId",
  "type",
  "state",
  "username",
  "email",
  "emailVerified",
  "givenName",
  "familyName",
  "preferredLanguage",
  "displayName",
  "createdAt",
] as const;

/**
 * The columns `updateHuman` writes and its events (ZITADEL's names). An address that differs
 * only in letter case reaches the same mailbox: it is stored as given but stays verified.
 */
function profileChanges(
  user: UserEntity,
  data: z.output<typeof humanUpdate>,
): { changes: Partial<UserEntity>; events: NewEvent[]; previousEmail: string | null } {
  const profile: Partial<UserEntity> = {};
  const set = <K extends "givenName" | "familyName" | "displayName" | "preferredLanguage">(
    key: K,
    value: UserEntity[K] | undefined,
  ) => {
    if (value !== undefined && value !== user[key]) profile[key] = value;
  };
  set("givenName", data.givenName ?? undefined);
  set("familyName", data.familyName ?? undefined);
  const nameChanged = "givenName" in profile || "familyName" in profile;
  const defaultName = `${user.givenName} ${user.familyName}`;
  set(
    "displayName",
    data.displayName ??
      (nameChanged && user.displayName === defaultName
        ? `${profile.givenName ?? user.givenName} ${profile.familyName ?? user.familyName}`
        : undefined),
  );
  set("preferredLanguage", data.preferredLanguage);
  const events: NewEvent[] =
    Object.keys(profile).length > 0
      ? [{ type: "user.human.profile.changed", payload: { ...profile } }]
      : [];
  const changes: Partial<UserEntity> = { ...profile };
  let previousEmail: string | null = null;
  if (data.email && data.email !== user.email) {
    changes.email = data.email;
    const sameMailbox =
      user.email !== null && user.email.toLowerCase() === data.email.toLowerCase();
    if (!sameMailbox) {
      changes.emailVerified = false;
      previousEmail = user.email;
    }
    events.push({
      type: "user.human.email.changed",
      payload: { email: data.email, verified: sameMailbox && user.emailVerified },
    });
  }
  return { changes, events, previousEmail };
}

function isDisabling(change: StateChange): change is DisablingChange {
  return change === "lock" || change === "deactivate" || change === "remove";
}

export function userAggregate(user: Pick<UserEntity, "id" | "organizationId">) {
  return { type: "user" as const, id: user.id, resourceOwner: user.organizationId };
}
