// Signing in with a stored passkey (SPEC 18, ZITADEL session v2): sessions, their webAuthN
// challenges and checks, the session token (as a bearer too), ending sessions. All times come
// from the injected Clock (the servers' clock, kept by NTP), as everywhere else in the code.
import type { EntityManager } from "typeorm";
import type { Config } from "../../config";
import {
  CompiledInsert,
  CompiledInsertIfAbsent,
  CompiledSelect,
  CompiledUpdate,
  EntitySql,
} from "../../db/compiled-sql";
import type { Database } from "../../db/database";
import { SessionChallengeEntity } from "../../entities/session-challenge.entity";
import { SessionPasskeyEntity } from "../../entities/session-passkey.entity";
import { SessionEntity } from "../../entities/session.entity";
import { UserEntity } from "../../entities/user.entity";
import { ApiError } from "../../errors";
import type { Clock, IdGenerator } from "../../core/clock";
import type { EventStore, NewEvent, WriteDetails } from "../../core/event-store";
import { PASSKEY_TOKEN_EVENTS, SESSION_EVENTS } from "../../core/event-names";
import type { Metrics } from "../../core/metrics";
import type { Caller, RequestContext } from "../../core/request-context";
import { isResourceId } from "../../core/validation";
import type { PermissionService } from "../identity/permissions";
import { parseDbDate } from "../identity/token.service";
import type { OrganizationService } from "../identity/organization.service";
import type { ExistingUser, UserService } from "../identity/user.service";
import { userAggregate } from "../identity/user.service";
import type { PasskeyCodeService } from "../links/passkey-code.service";
import type { PasskeyService, PasskeySignals, StoredPasskey } from "../passkeys/passkey.service";
import { userHandleOf } from "../passkeys/passkey.service";
import type { AuthenticationParty } from "../passkeys/relying-party";
import { newChallenge, newSessionToken, sameHash, sha256Hex } from "./session-token";
import type { BudgetProbe, SigninRateLimit } from "./signin-rate-limit";
import { SigninBudgetEntity } from "../../entities/signin-budget.entity";

export const USER_VERIFICATION_REQUIRED = "USER_VERIFICATION_REQUIREMENT_REQUIRED";

/** Failed checks that end a session (SPEC 18); they never lock the user. */
export const MAX_FAILED_CHECKS = 5;

/** How many sessions one listing returns at most. */
export const MAX_LISTING = 1000;

export interface UserCheck {
  userId?: string | null;
  loginName?: string | null;
}

export interface SessionChecks {
  user?: UserCheck | null;
  webAuthN?: { credentialAssertionData: Record<string, unknown> } | null;
}

export interface ChallengeRequest {
  webAuthN?: { domain?: string | null; userVerificationRequirement: string } | null;
}

export interface CreateSessionRequest {
  checks?: SessionChecks | null;
  challenges?: ChallengeRequest | null;
  /** A duration in seconds, as ZITADEL writes it: "18000s". */
  lifetime?: string | null;
}

export interface SetSessionRequest extends CreateSessionRequest {
  sessionId: string;
  sessionToken: string;
}

/** How a date is compared (ZITADEL's TimestampQueryMethod, without its prefix). */
export type DateComparison = "EQUALS" | "GREATER" | "GREATER_OR_EQUALS" | "LESS" | "LESS_OR_EQUALS";

const DATE_OPERATORS: Record<DateComparison, string> = {
  EQUALS: "=",
  GREATER: ">",
  GREATER_OR_EQUALS: ">=",
  LESS: "<",
  LESS_OR_EQUALS: "<=",
};

/** Narrows a listing (ZITADEL's ListSessions queries); every condition must hold. */
export interface SessionFilter {
  /** Only these sessions; an empty list matches none. */
  ids?: readonly string[] | null;
  createdAt?: readonly { date: Date; method: DateComparison }[];
  expiresAt?: readonly { date: Date; method: DateComparison }[];
  /** Oldest first (default: newest first). */
  ascending?: boolean;
}

export interface IssuedChallenges {
  webAuthN: { publicKeyCredentialRequestOptions: Record<string, unknown> } | null;
}

export interface SessionView {
  id: string;
  creationDate: Date;
  changeDate: Date;
  sequence: number;
  expirationDate: Date;
  factors: {
    user: {
      verifiedAt: Date;
      id: string;
      loginName: string;
      displayName: string;
      organizationId: string;
    } | null;
    webAuthN: { verifiedAt: Date; userVerified: boolean; passkeyId: string } | null;
  };
}

type Settings = Config["sessions"] & { webauthnTimeoutSeconds: number };

/** A check that failed: the transaction still commits what it counted and consumed. */
interface Refusal {
  refused: ApiError;
  outcome: "failed" | "clone";
  /** A security notice was queued (a suspected clone): wake the mailer after the commit. */
  mailQueued?: boolean;
}

interface VerifiedCheck {
  user: ExistingUser;
  passkey: StoredPasskey;
  /**
   * The challenge the assertion answered, on a session's first successful check: its
   * `session.webAuthN.challenged` event is written then (none before the first success).
   */
  answered: { id: string; issuedAt: Date } | null;
}

const SESSION_PROPERTIES = [
  "id",
  "userId",
  "organizationId",
  "tokenHash",
  "checkUserId",
  "loginNameKey",
  "userCheckedAt",
  "passkeyId",
  "grantedBy",
  "webauthnCheckedAt",
  "userVerified",
  "failedChecks",
  "sequence",
  "createdAt",
  "changedAt",
  "expiresAt",
  "pendingUntil",
  "terminatedAt",
] as const satisfies readonly (keyof SessionEntity)[];

const refuse = (
  error: ApiError,
  outcome: "failed" | "clone" = "failed",
  mailQueued = false,
): Refusal => ({
  refused: error,
  outcome,
  mailQueued,
});
const isRefusal = (value: unknown): value is Refusal =>
  typeof value === "object" && value !== null && "refused" in value;

export class SessionService {
  constructor(
    private readonly db: Database,
    private readonly events: EventStore,
    private readonly users: UserService,
    private readonly organizations: OrganizationService,
    private readonly permissions: PermissionService,
    private readonly passkeys: PasskeyService,
    private readonly codes: PasskeyCodeService,
    private readonly relyingParty: AuthenticationParty,
    private readonly limits: SigninRateLimit,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly settings: Settings,
    private readonly metrics: Pick<Metrics, "sessionCreated" | "passkeySignIn">,
  ) {
    users.onDisable((tx, userId) => this.endWhere(tx, "user", [userId], "user.disabled"));
    passkeys.onRemoved((tx, passkeyIds) =>
      this.endWhere(tx, "passkey", passkeyIds, "passkey.removed"),
    );
  }

  // The sign-in path's statements, built once (see src/db/compiled-sql.ts).
  private readonly insertSession = new CompiledInsert(this.db, SessionEntity, SESSION_PROPERTIES);
  private readonly selectSession = (() => {
    const sessions = new EntitySql(this.db, SessionEntity);
    const budgets = new EntitySql(this.db, SigninBudgetEntity);
    const challenges = new EntitySql(this.db, SessionChallengeEntity);
    const b = (property: keyof SigninBudgetEntity) => `b.${budgets.column(property)}`;
    const c = (property: keyof SessionChallengeEntity) => `c.${challenges.column(property)}`;
    const named = (property: keyof SessionChallengeEntity) =>
      `(SELECT ${c(property)} FROM ${challenges.table} c WHERE ${c("sessionId")} = ${sessions.table}.${sessions.column("id")} AND ${c("challengeHash")} = ? LIMIT 1)`;
    return new CompiledSelect(
      this.db,
      SessionEntity,
      SESSION_PROPERTIES,
      (column) => `WHERE ${column("id")} = ?`,
      {
        failuresUsed: `(SELECT ${b("used")} FROM ${budgets.table} b WHERE ${b("clientKey")} = ? AND ${b("kind")} = ? AND ${b("windowStart")} = ?)`,
        answeredId: named("id"),
        answeredAt: named("createdAt"),
      },
    );
  })();
  private readonly updateSession = new CompiledUpdate(
    this.db,
    SessionEntity,
    (column) => `${column("id")} = ?`,
  );
  /** The compare-and-set on the token. */
  private readonly rotateSession = new CompiledUpdate(
    this.db,
    SessionEntity,
    (column) => `${column("id")} = ? AND ${column("tokenHash")} = ?`,
  );
  private readonly insertChallenge = new CompiledInsert(this.db, SessionChallengeEntity, [
    "id",
    "sessionId",
    "challengeHash",
    "createdAt",
    "expiresAt",
    "consumedAt",
  ]);
  /** Spends the session's open challenge, whatever it is (a failed check). */
  private readonly consumeOpen = new CompiledUpdate(
    this.db,
    SessionChallengeEntity,
    (column) =>
      `${column("sessionId")} = ? AND ${column("consumedAt")} IS NULL AND ${column("expiresAt")} > ?`,
  );
  /** Spends the open challenge with this hash: one winner across processes and Galera nodes. */
  private readonly consumeNamed = new CompiledUpdate(
    this.db,
    SessionChallengeEntity,
    (column) =>
      `${column("sessionId")} = ? AND ${column("consumedAt")} IS NULL AND ${column("expiresAt")} > ? AND ${column("challengeHash")} = ?`,
  );
  /** A new challenge replaces the open one, expired or not. */
  private readonly replaceOpen = new CompiledUpdate(
    this.db,
    SessionChallengeEntity,
    (column) => `${column("sessionId")} = ? AND ${column("consumedAt")} IS NULL`,
  );
  private readonly linkSessionPasskey = new CompiledInsertIfAbsent(this.db, SessionPasskeyEntity, [
    "sessionId",
    "passkeyId",
  ]);

  /**
   * CreateSession: anyone may call (the passkey is the authority). A caller holding
   * `session.write` gets `checks.user` resolved and an allow-list; for everyone else the name
   * stays unresolved and the answer is the same whether it exists or not.
   */
  async create(
    ctx: RequestContext,
    request: CreateSessionRequest,
  ): Promise<{
    details: WriteDetails;
    sessionId: string;
    sessionToken: string;
    challenges: IssuedChallenges | null;
  }> {
    const userCheck = parseUserCheck(request.checks?.user);
    const challenge = this.parseChallengeRequest(request.challenges);
    const lifetime = this.parseLifetime(request.lifetime) ?? this.settings.lifetimeSeconds;
    if (request.checks?.webAuthN) throw noChallenge();
    const writer = this.sessionWriter(ctx);
    const token = newSessionToken();
    const sessionId = this.ids.next();
    const result = await this.db.transaction(
      async (tx) => {
        await this.limits.spend(tx, "attempt", ctx.clientAddress);
        const now = this.clock.now();
        const organizationId = await this.organizationOf(tx, ctx);
        const row: SessionEntity = {
          id: sessionId,
          userId: null,
          organizationId,
          tokenHash: sha256Hex(token),
          checkUserId: null,
          loginNameKey: null,
          userCheckedAt: null,
          passkeyId: null,
          grantedBy: null,
          webauthnCheckedAt: null,
          userVerified: false,
          failedChecks: 0,
          sequence: 0,
          createdAt: now,
          changedAt: now,
          expiresAt: new Date(now.getTime() + lifetime * 1000),
          pendingUntil: new Date(now.getTime() + this.settings.webauthnTimeoutSeconds * 1000),
          terminatedAt: null,
        };
        let allow: { credentialId: string; transports: string[] }[] = [];
        if (userCheck && writer) {
          const user = await this.resolveForWriter(tx, writer, organizationId, userCheck);
          Object.assign(row, {
            userId: user.id,
            organizationId: user.organizationId,
            userCheckedAt: now,
          });
          allow = await this.passkeys.credentialsOf(tx, user.id);
        } else if (userCheck) {
          row.checkUserId = userCheck.userId ?? null;
          row.loginNameKey = userCheck.loginName?.toLowerCase() ?? null;
        }
        // Nothing reads this INSERT's result: in a batched transaction it goes out with COMMIT.
        await this.insertSession.defer(tx, [row]);
        // A session created in this transaction has no challenge yet: nothing to replace.
        const challenges = challenge
          ? (await this.openChallenge(tx, sessionId, allow, now, false)).challenges
          : null;
        return {
          details: { sequence: 0, eventDate: now, resourceOwner: row.organizationId },
          challenges,
        };
      },
      { batched: true },
    );
    this.metrics.sessionCreated();
    return { ...result, sessionId, sessionToken: token };
  }

  /**
   * SetSession: only with the session's current token, whatever the caller's role. A successful
   * call rotates the token (compare-and-set on the old hash); a failed check keeps it, consumes
   * the challenge and counts toward the five failures that end the session.
   */
  async set(
    ctx: RequestContext,
    request: SetSessionRequest,
  ): Promise<{
    details: WriteDetails;
    sessionToken: string;
    challenges: IssuedChallenges | null;
    signals: PasskeySignals | null;
  }> {
    const userCheck = parseUserCheck(request.checks?.user);
    const challenge = this.parseChallengeRequest(request.challenges);
    const lifetime = this.parseLifetime(request.lifetime);
    const assertion = request.checks?.webAuthN?.credentialAssertionData ?? null;
    const presented = sha256Hex(request.sessionToken);
    const token = newSessionToken();
    const writer = this.sessionWriter(ctx);
    const clientData = assertion ? parseClientData(assertion) : null;
    const challengeHash = clientData ? sha256Hex(clientData.challenge) : null;
    const outcome = await this.db.transaction(
      async (tx) => {
        // One statement locks the session and reads, without locking them, the address's failures
        // this minute and the challenge the assertion names (for its event on a first check).
        const failures = assertion ? this.limits.probe("failure", ctx.clientAddress) : null;
        const { session, failuresUsed, answered } = await this.lockSessionForCheck(
          tx,
          request.sessionId,
          failures,
          challengeHash,
        );
        if (!sameHash(session.tokenHash, presented)) throw tokenInvalid();
        const now = this.clock.now();
        this.assertLive(session, now);
        const wasVerified = session.webauthnCheckedAt !== null;
        const changes: Partial<SessionEntity> = {};
        const events: NewEvent[] = [];
        if (userCheck) {
          await this.applyUserCheck(tx, session, userCheck, writer, changes);
        }
        let verified: VerifiedCheck | null = null;
        if (assertion) {
          if (failures) this.limits.requireLeftOf(failures, failuresUsed);
          const checked = await this.checkWebAuthN(
            tx,
            { ...session, ...changes },
            assertion,
            clientData,
            challengeHash,
            answered,
            now,
          );
          if (isRefusal(checked)) {
            await this.countFailure(tx, session, now);
            await this.limits.record(tx, "failure", ctx.clientAddress);
            return checked;
          }
          verified = checked;
          Object.assign(changes, {
            userId: checked.user.id,
            organizationId: checked.user.organizationId,
            checkUserId: null,
            loginNameKey: null,
            userCheckedAt: session.userCheckedAt ?? now,
            passkeyId: checked.passkey.id,
            grantedBy: checked.passkey.grantedBy,
            webauthnCheckedAt: now,
            userVerified: true,
          });
          if (!wasVerified) {
            events.push(
              { type: SESSION_EVENTS.added },
              { type: SESSION_EVENTS.userChecked, payload: { userId: checked.user.id } },
            );
            // The challenge this check answered was issued before any event could be written.
            if (checked.answered) {
              events.push({
                type: SESSION_EVENTS.webAuthNChallenged,
                payload: challengedPayload(
                  checked.answered.id,
                  checked.answered.issuedAt,
                  this.relyingParty.id,
                ),
              });
            }
          }
          events.push({
            type: SESSION_EVENTS.webAuthNChecked,
            payload: { passkeyId: checked.passkey.id, userVerified: true },
          });
        }
        if (lifetime !== null) {
          changes.expiresAt = new Date(session.createdAt.getTime() + lifetime * 1000);
          events.push({ type: SESSION_EVENTS.lifetimeSet, payload: { lifetime: `${lifetime}s` } });
        } else if (verified && !wasVerified) {
          // The lifetime createSession set (or the default) had no event yet: none is written
          // before the first successful check, so it is recorded with that check.
          const seconds = Math.round(
            (session.expiresAt.getTime() - session.createdAt.getTime()) / 1000,
          );
          events.push({ type: SESSION_EVENTS.lifetimeSet, payload: { lifetime: `${seconds}s` } });
        }
        let challenges: IssuedChallenges | null = null;
        if (challenge) {
          await this.limits.spend(tx, "attempt", ctx.clientAddress);
          const userId = changes.userId ?? session.userId;
          const allow = writer && userId ? await this.passkeys.credentialsOf(tx, userId) : [];
          const opened = await this.openChallenge(tx, session.id, allow, now, true);
          challenges = opened.challenges;
          if (!wasVerified && !verified) {
            changes.pendingUntil = new Date(
              now.getTime() + this.settings.webauthnTimeoutSeconds * 1000,
            );
          }
          // Written only once the session has verified (below): an unverified session's challenge
          // is recorded by the check that answers it.
          events.push({
            type: SESSION_EVENTS.webAuthNChallenged,
            payload: challengedPayload(opened.challengeId, now, this.relyingParty.id),
          });
        }
        await this.rotateToken(tx, session.id, presented, token, { ...changes, changedAt: now });
        events.push({ type: SESSION_EVENTS.tokenSet });
        // Read before the events, whose statements can then go out with COMMIT.
        const signals = verified ? await this.passkeys.signals(tx, verified.user) : null;
        const resourceOwner = changes.organizationId ?? session.organizationId;
        const details =
          wasVerified || verified
            ? await this.events.append(
                tx,
                { type: "session", id: session.id, resourceOwner },
                changes.userId ?? session.userId ?? session.id,
                events,
              )
            : { sequence: session.sequence, eventDate: now, resourceOwner };
        return { details, challenges, signals };
      },
      { batched: true },
    );
    if (isRefusal(outcome)) {
      if (outcome.mailQueued) this.passkeys.noticesQueued();
      this.metrics.passkeySignIn(outcome.outcome);
      throw outcome.refused;
    }
    if (assertion) this.metrics.passkeySignIn("success");
    return { ...outcome, sessionToken: token };
  }

  /**
   * GetSession: with the session's token; or as its own user (a PAT, or a session token of that
   * user); or with `session.read` in its organization. `maxAge` (seconds) asks for a webAuthN
   * check at most that old.
   */
  async get(
    ctx: RequestContext,
    sessionId: string,
    sessionToken: string | null | undefined,
    maxAge?: number | null,
  ): Promise<SessionView> {
    if (maxAge != null && (!Number.isInteger(maxAge) || maxAge <= 0)) {
      throw ApiError.invalidArgument(
        "SESSION-max-age",
        "maxAge must be a positive number of seconds",
      );
    }
    return this.db.read(async (db) => {
      const session = await this.findSession(db, sessionId);
      this.authorizeOn(session, ctx, sessionToken, "session.read");
      const now = this.clock.now();
      this.assertLive(session, now);
      if (maxAge != null) {
        const checkedAt = session.webauthnCheckedAt;
        if (!checkedAt || now.getTime() - checkedAt.getTime() > maxAge * 1000) {
          throw ApiError.failedPrecondition(
            "SESSION-too-old",
            "the session's passkey check is older than maxAge (or there is none): check it again",
          );
        }
      }
      return this.view(db, session);
    });
  }

  /**
   * ListSessions: a user's active, verified sessions, newest first: one's own, or with
   * `session.read` in the user's organization. A session token lists only its own user's.
   * `filter` narrows the listing further (REST's ListSessions queries), never widens it.
   */
  async list(
    ctx: RequestContext,
    userId: string | null | undefined,
    page: { limit?: number | null; offset?: number | null } = {},
    filter: SessionFilter = {},
  ): Promise<{ totalResult: number; sessions: SessionView[]; timestamp: Date }> {
    const caller = ctx.caller;
    if (!caller) throw ApiError.unauthenticated("AUTH-required", "authentication required");
    const target = userId ?? caller.userId;
    if (caller.session && target !== caller.userId) throw sessionScope();
    const limit = Math.min(Math.max(page.limit ?? 100, 1), MAX_LISTING);
    const offset = Math.max(page.offset ?? 0, 0);
    return this.db.read(async (db) => {
      if (!caller.session) {
        await this.users.authorizeOnUser(db, caller, target, "session.read", {
          allowSelf: true,
          readOnly: true,
        });
      }
      const now = this.clock.now();
      if (filter.ids?.length === 0) return { totalResult: 0, sessions: [], timestamp: now };
      const query = db
        .createQueryBuilder(SessionEntity, "s")
        .where("s.userId = :target AND s.terminatedAt IS NULL", { target })
        .andWhere("s.webauthnCheckedAt IS NOT NULL AND s.expiresAt > :now", { now });
      if (filter.ids) query.andWhere("s.id IN (:...ids)", { ids: [...new Set(filter.ids)] });
      for (const [column, conditions] of [
        ["createdAt", filter.createdAt],
        ["expiresAt", filter.expiresAt],
      ] as const) {
        (conditions ?? []).forEach(({ date, method }, index) => {
          const name = `${column}${index}`;
          query.andWhere(`s.${column} ${DATE_OPERATORS[method]} :${name}`, { [name]: date });
        });
      }
      const order = filter.ascending ? "ASC" : "DESC";
      const [rows, totalResult] = await query
        .orderBy("s.createdAt", order)
        .addOrderBy("s.id", order)
        .take(limit)
        .skip(offset)
        .getManyAndCount();
      const sessions: SessionView[] = [];
      for (const row of rows) sessions.push(await this.view(db, row));
      return { totalResult, sessions, timestamp: now };
    });
  }

  /**
   * DeleteSession: with the token; as its own user; or with `session.delete` under SPEC 13's
   * authority rule. A second delete is no error. Signing out revokes the codes it minted.
   */
  async delete(
    ctx: RequestContext,
    sessionId: string,
    sessionToken: string | null | undefined,
  ): Promise<WriteDetails> {
    return this.db.transaction(async (tx) => {
      const session = await this.lockSession(tx, sessionId);
      this.authorizeOn(session, ctx, sessionToken, "session.delete");
      if (
        !sessionToken &&
        ctx.caller &&
        !ctx.caller.session &&
        session.userId !== ctx.caller.userId
      ) {
        await this.users.authorizeOnUser(tx, ctx.caller, session.userId!, "session.delete", {
          allowSelf: true,
        });
      }
      if (session.terminatedAt !== null) {
        return {
          sequence: session.sequence,
          eventDate: session.terminatedAt,
          resourceOwner: session.organizationId,
        };
      }
      const now = this.clock.now();
      await this.terminate(tx, [session], now, "signed.out");
      const [ended] = await tx
        .createQueryBuilder(SessionEntity, "s")
        .select(["s.sequence"])
        .where("s.id = :id", { id: session.id })
        .getMany();
      return {
        sequence: ended?.sequence ?? session.sequence,
        eventDate: now,
        resourceOwner: session.organizationId,
      };
    });
  }

  /**
   * The caller behind a session token, in one query (as a PAT's): its session must hold a
   * verified webAuthN check, be neither expired nor ended, and its user active. No roles.
   */
  async authenticate(token: string): Promise<Caller> {
    const rows = await this.db.read((db) =>
      this.db.query<BearerRow[]>(db, this.bearerQuery, [sha256Hex(token)]),
    );
    const row = rows[0];
    if (!row) throw ApiError.unauthenticated("AUTH-token-invalid", "invalid token");
    const now = this.clock.now();
    const expiresAt = parseDbDate(row.expiresAt);
    if (row.terminatedAt !== null || expiresAt.getTime() <= now.getTime()) {
      throw ApiError.unauthenticated("AUTH-token-expired", "the session has ended or expired");
    }
    if (row.checkedAt === null || row.userId === null || !row.userVerified) {
      throw ApiError.unauthenticated("AUTH-token-invalid", "the session is not signed in");
    }
    if (row.state !== "ACTIVE") {
      throw ApiError.unauthenticated("AUTH-user-inactive", "the session's user is not active");
    }
    const checkedAt = parseDbDate(row.checkedAt);
    return {
      userId: row.userId,
      organizationId: row.organizationId,
      tokenId: row.sessionId,
      tokenExpiresAt: expiresAt,
      tokenGrantedBy: row.grantedBy ?? row.userId,
      roles: [],
      session: {
        sessionId: row.sessionId,
        checkedAt,
        recentlyChecked: now.getTime() - checkedAt.getTime() < this.settings.reauthSeconds * 1000,
      },
    };
  }

  /**
   * Deletes up to `limit` sessions ended or expired SESSION_RETENTION_DAYS ago, with their
   * challenges and passkey links; then consumed or expired challenges as old. Events stay.
   */
  async purge(limit: number): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - this.settings.retentionDays * 86_400_000);
    return this.db.transaction(async (tx) => {
      const ids = await this.db.deleteBatch(
        tx,
        SessionEntity,
        "(e.expiresAt < :cutoff OR e.terminatedAt < :cutoff OR (e.webauthnCheckedAt IS NULL AND e.pendingUntil < :cutoff))",
        { cutoff },
        limit,
      );
      if (ids.length > 0) {
        for (const entity of [SessionChallengeEntity, SessionPasskeyEntity]) {
          await tx
            .createQueryBuilder()
            .delete()
            .from(entity)
            .where("sessionId IN (:...ids)", { ids })
            .execute();
        }
      }
      const challenges = await this.db.deleteBatch(
        tx,
        SessionChallengeEntity,
        "e.expiresAt < :cutoff",
        { cutoff },
        limit,
      );
      return ids.length + challenges.length;
    });
  }

  /** Built once; only the token hash changes per request. */
  private readonly bearerQuery = (() => {
    const [sql] = this.db.dataSource
      .createQueryBuilder(SessionEntity, "s")
      .innerJoin(UserEntity, "u", "u.id = s.userId")
      .select([
        "s.id AS sessionId",
        "s.userId AS userId",
        "s.expiresAt AS expiresAt",
        "s.terminatedAt AS terminatedAt",
        "s.webauthnCheckedAt AS checkedAt",
        "s.userVerified AS userVerified",
        "s.grantedBy AS grantedBy",
        "u.organizationId AS organizationId",
        "u.state AS state",
      ])
      .where("s.tokenHash = :hash", { hash: "" })
      .getQueryAndParameters();
    return sql;
  })();

  /**
   * Consumes the challenge the assertion answers (one conditional UPDATE: one winner across
   * processes and Galera nodes), then looks up the passkey, binds and verifies. Any failure
   * also consumes the session's open challenge.
   */
  private async checkWebAuthN(
    tx: EntityManager,
    session: SessionEntity,
    response: Record<string, unknown>,
    clientData: ReturnType<typeof parseClientData>,
    challengeHash: string | null,
    /** The session's challenge with `challengeHash`, read when the session was locked. */
    named: { id: string; issuedAt: Date } | null,
    now: Date,
  ): Promise<VerifiedCheck | Refusal> {
    const consumed = challengeHash
      ? await this.consumeChallenge(tx, session.id, now, challengeHash)
      : 0;
    if (!clientData || consumed !== 1) {
      const open = await this.consumeChallenge(tx, session.id, now);
      return refuse(
        open > 0 || !clientData
          ? invalidAssertion("it does not answer this session's challenge")
          : noChallenge(),
      );
    }
    if (clientData.crossOrigin === true) {
      return refuse(invalidAssertion("it was made in a cross-origin frame"));
    }
    if (clientData.type !== "webauthn.get") return refuse(invalidAssertion("it is not a sign-in"));
    const credentialId = typeof response.id === "string" ? response.id : "";
    const passkey = credentialId ? await this.passkeys.findByCredentialId(tx, credentialId) : null;
    if (!passkey) return refuse(this.unknownCredential(credentialId));
    // A database failure here (a lock timeout, a deadlock, a Galera conflict) throws: it fails
    // the transaction, to be retried whole, and is never taken for a missing user.
    const user = await this.users.findIfExisting(tx, passkey.userId, true);
    if (!user) return refuse(this.unknownCredential(null));
    if (!bindsTo(session, user)) return refuse(userMismatch());
    const userHandle = (response.response as { userHandle?: unknown } | undefined)?.userHandle;
    if (userHandle !== undefined && userHandle !== null && userHandle !== "") {
      if (userHandle !== userHandleOf(user.id)) {
        return refuse(invalidAssertion("its user handle is not the passkey's"));
      }
    }
    let assertion;
    try {
      assertion = await this.relyingParty.verifyAssertion(response, clientData.challenge, {
        credentialId: passkey.credentialId,
        publicKey: passkey.publicKey,
        transports: passkey.transports ? (JSON.parse(passkey.transports) as string[]) : [],
      });
    } catch (error) {
      return refuse(invalidAssertion(reasonOf(error)));
    }
    // The signature holds: only now is the counter judged (nobody without the key can flag).
    const stored = passkey.signCount;
    const counted = assertion.newCounter;
    if (counted !== 0 && counted <= stored) {
      const mailed = await this.suspectClone(tx, user, passkey, now, counted);
      return refuse(
        ApiError.permissionDenied(
          "SESSION-webauthn-clone",
          "this passkey's signature counter did not rise: it may have been copied; it was flagged",
        ),
        "clone",
        mailed,
      );
    }
    if (user.state === "LOCKED") {
      return refuse(ApiError.failedPrecondition("SESSION-user-locked", "the user is locked"));
    }
    if (user.state !== "ACTIVE") {
      return refuse(ApiError.failedPrecondition("SESSION-user-inactive", "the user is inactive"));
    }
    const rose = counted > stored;
    const recorded = await this.passkeys.recordSignIn(tx, passkey.id, {
      backedUp: assertion.backedUp,
      usedAt: now,
      ...(rose ? { signCount: counted } : {}),
    });
    if (!recorded) return refuse(this.unknownCredential(null));
    // Writes the user's row (its sequence), so a concurrent lock or removal conflicts.
    await this.events.append(tx, userAggregate(user), user.id, [
      rose
        ? {
            type: PASSKEY_TOKEN_EVENTS.signCountChanged,
            payload: { passkeyId: passkey.id, signCount: counted },
          }
        : { type: PASSKEY_TOKEN_EVENTS.checkSucceeded, payload: { passkeyId: passkey.id } },
    ]);
    // Which passkeys verified the session (a later check with the same one adds nothing).
    await this.linkSessionPasskey.defer(tx, { sessionId: session.id, passkeyId: passkey.id });
    const answered = session.webauthnCheckedAt === null ? named : null;
    return { user, passkey, answered };
  }

  /** Flags the passkey, ends the sessions it verified and writes the event (SPEC 18). */
  private async suspectClone(
    tx: EntityManager,
    user: ExistingUser,
    passkey: StoredPasskey,
    now: Date,
    counted: number,
  ): Promise<boolean> {
    const mailed = await this.passkeys.flagClone(tx, user, passkey, now);
    await this.endWhere(tx, "passkey", [passkey.id], "passkey.clone.suspected");
    await this.events.append(tx, userAggregate(user), user.id, [
      {
        type: PASSKEY_TOKEN_EVENTS.cloneSuspected,
        payload: { passkeyId: passkey.id, storedSignCount: passkey.signCount, signCount: counted },
      },
    ]);
    return mailed;
  }

  /**
   * The one conditional UPDATE that spends a challenge: open, unexpired and (when given) with
   * this hash. Resolves to the rows it changed (0 or 1).
   */
  private async consumeChallenge(
    tx: EntityManager,
    sessionId: string,
    now: Date,
    challengeHash?: string,
  ): Promise<number> {
    const open = this.consumeOpen.value("expiresAt", now);
    return challengeHash === undefined
      ? this.consumeOpen.run(tx, { consumedAt: now }, [sessionId, open])
      : this.consumeNamed.run(tx, { consumedAt: now }, [sessionId, open, challengeHash]);
  }

  /**
   * A new challenge replaces the open one (`replace`: false for a session created in the same
   * transaction, which has none); only its hash is stored.
   */
  private async openChallenge(
    tx: EntityManager,
    sessionId: string,
    allow: { credentialId: string; transports: string[] }[],
    now: Date,
    replace: boolean,
  ): Promise<{ challenges: IssuedChallenges; challengeId: string }> {
    if (replace) await this.replaceOpen.defer(tx, { consumedAt: now }, [sessionId]);
    const challenge = newChallenge();
    const challengeId = this.ids.next();
    await this.insertChallenge.defer(tx, [
      {
        id: challengeId,
        sessionId,
        challengeHash: sha256Hex(challenge),
        createdAt: now,
        expiresAt: new Date(now.getTime() + this.settings.webauthnTimeoutSeconds * 1000),
        consumedAt: null,
      },
    ]);
    const publicKey = await this.relyingParty.requestOptions(challenge, allow);
    return {
      challenges: { webAuthN: { publicKeyCredentialRequestOptions: { publicKey } } },
      challengeId,
    };
  }

  /** The compare-and-set that makes the presented token the last one to work. */
  private async rotateToken(
    tx: EntityManager,
    sessionId: string,
    presented: string,
    token: string,
    changes: Partial<SessionEntity>,
  ): Promise<void> {
    const rotated = await this.rotateSession.run(tx, { ...changes, tokenHash: sha256Hex(token) }, [
      sessionId,
      presented,
    ]);
    if (rotated !== 1) throw tokenInvalid();
  }

  /** A failed check: counted on the session (five end it), never on the user. */
  private async countFailure(tx: EntityManager, session: SessionEntity, now: Date) {
    const failedChecks = session.failedChecks + 1;
    await this.updateSession.run(tx, { failedChecks, changedAt: now }, [session.id]);
    if (failedChecks >= MAX_FAILED_CHECKS) {
      await this.terminate(tx, [session], now, "too.many.failed.checks");
    }
  }

  /** Ends the live sessions of users (`user`) or verified by passkeys (`passkey`). */
  private async endWhere(
    tx: EntityManager,
    by: "user" | "passkey",
    ids: string[],
    reason: string,
  ): Promise<void> {
    if (ids.length === 0) return;
    const query = tx.createQueryBuilder(SessionEntity, "s").where("s.terminatedAt IS NULL");
    if (by === "user") query.andWhere("s.userId IN (:...ids)", { ids });
    else {
      query.andWhere(
        "s.id IN (SELECT l.session_id FROM session_passkeys l WHERE l.passkey_id IN (:...ids))",
        { ids },
      );
    }
    const sessions = await query.getMany();
    await this.terminate(tx, sessions, this.clock.now(), reason);
  }

  /**
   * Ends sessions: `terminatedAt`, the codes they minted revoked, and `session.terminated` on
   * those that ever verified (none before the first successful check).
   */
  private async terminate(
    tx: EntityManager,
    sessions: SessionEntity[],
    now: Date,
    reason: string,
  ): Promise<void> {
    if (sessions.length === 0) return;
    await tx
      .createQueryBuilder()
      .update(SessionEntity)
      .set({ terminatedAt: now, changedAt: now })
      .where("id IN (:...ids) AND terminatedAt IS NULL", { ids: sessions.map((s) => s.id) })
      .execute();
    const verified = sessions.filter((s) => s.webauthnCheckedAt !== null && s.userId !== null);
    for (const session of verified) {
      await this.codes.revokeMintedBy(tx, session.id, {
        id: session.userId!,
        organizationId: session.organizationId,
      });
    }
    await this.events.appendToEach(
      tx,
      "session",
      verified[0]?.userId ?? "system",
      verified.map((session) => ({
        aggregate: { type: "session", id: session.id, resourceOwner: session.organizationId },
        event: { type: SESSION_EVENTS.terminated, payload: { reason } },
      })),
    );
  }

  private async applyUserCheck(
    tx: EntityManager,
    session: SessionEntity,
    check: UserCheck,
    writer: Caller | null,
    changes: Partial<SessionEntity>,
  ): Promise<void> {
    if (session.userId !== null) {
      // Once a session has a user, it keeps it.
      const user = await this.users.findExisting(tx, session.userId);
      const same = check.userId
        ? check.userId === user.id
        : check.loginName?.toLowerCase() === user.usernameKey;
      if (!same) throw userMismatch();
      return;
    }
    if (writer) {
      const user = await this.resolveForWriter(tx, writer, session.organizationId, check);
      Object.assign(changes, {
        userId: user.id,
        organizationId: user.organizationId,
        userCheckedAt: this.clock.now(),
      });
      return;
    }
    changes.checkUserId = check.userId ?? null;
    changes.loginNameKey = check.loginName?.toLowerCase() ?? null;
  }

  /** For `session.write` holders: the named user, NOT_FOUND when it does not exist. */
  private async resolveForWriter(
    tx: EntityManager,
    writer: Caller,
    organizationId: string,
    check: UserCheck,
  ): Promise<ExistingUser> {
    const id =
      check.userId ?? (await this.users.idByLoginName(tx, organizationId, check.loginName!));
    const user = await this.users.findExisting(tx, id ?? "");
    this.permissions.require(writer, "session.write", user.organizationId);
    return user;
  }

  /** The caller if it holds `session.write` (anywhere): others count as anonymous here. */
  private sessionWriter(ctx: RequestContext): Caller | null {
    const caller = ctx.caller;
    if (!caller || caller.session) return null;
    return this.permissions.has(caller, "session.write", ctx.orgId ?? caller.organizationId)
      ? caller
      : null;
  }

  /** x-zitadel-orgid (anonymous callers too), else the caller's, else the default organization. */
  private async organizationOf(tx: EntityManager, ctx: RequestContext): Promise<string> {
    const orgId = ctx.orgId ?? ctx.caller?.organizationId ?? null;
    if (orgId !== null) return orgId;
    const fallback = await this.organizations.defaultOrganizationId(tx);
    if (fallback === null) throw ApiError.notFound("ORG-not-found", "organization not found");
    return fallback;
  }

  /**
   * Who may read or delete a session: its token; its own user (PAT, or a session token of that
   * user); else `permission` in its organization (PATs only). Deletion's authority rule is
   * checked by the caller.
   */
  private authorizeOn(
    session: SessionEntity,
    ctx: RequestContext,
    sessionToken: string | null | undefined,
    permission: "session.read" | "session.delete",
  ): void {
    if (sessionToken) {
      if (!sameHash(session.tokenHash, sha256Hex(sessionToken))) throw tokenInvalid();
      return;
    }
    const caller = ctx.caller;
    if (!caller) throw tokenInvalid();
    if (session.userId !== null && session.userId === caller.userId) return;
    if (caller.session) throw sessionScope();
    if (session.userId === null) throw tokenInvalid();
    if (permission === "session.read") {
      this.permissions.require(caller, permission, session.organizationId);
    }
  }

  private assertLive(session: SessionEntity, now: Date): void {
    if (session.terminatedAt !== null) {
      throw ApiError.failedPrecondition("SESSION-terminated", "the session was ended");
    }
    if (expirationOf(session).getTime() <= now.getTime()) {
      throw ApiError.failedPrecondition("SESSION-expired", "the session has expired");
    }
  }

  private async view(db: EntityManager, session: SessionEntity): Promise<SessionView> {
    let user: SessionView["factors"]["user"] = null;
    if (session.userId !== null && session.userCheckedAt !== null) {
      const found = await this.users.findIfExisting(db, session.userId);
      if (found) {
        user = {
          verifiedAt: session.userCheckedAt,
          id: found.id,
          loginName: found.username,
          displayName: found.displayName,
          organizationId: found.organizationId,
        };
      }
    }
    return {
      id: session.id,
      creationDate: session.createdAt,
      changeDate: session.changedAt,
      sequence: session.sequence,
      expirationDate: expirationOf(session),
      factors: {
        user,
        webAuthN:
          session.webauthnCheckedAt && session.passkeyId
            ? {
                verifiedAt: session.webauthnCheckedAt,
                userVerified: session.userVerified,
                passkeyId: session.passkeyId,
              }
            : null,
      },
    };
  }

  private async lockSession(tx: EntityManager, sessionId: string): Promise<SessionEntity> {
    return (await this.lockSessionForCheck(tx, sessionId, null, null)).session;
  }

  /**
   * The session, locked until commit (MySQL; SQLite's writer lock covers it), with two values
   * read in the same statement and not locked: how many failures `failures` (a budget key, see
   * SigninRateLimit.probe) has spent, and the session's challenge with `challengeHash`.
   */
  private async lockSessionForCheck(
    tx: EntityManager,
    sessionId: string,
    failures: BudgetProbe | null,
    challengeHash: string | null,
  ): Promise<{
    session: SessionEntity;
    failuresUsed: number | null;
    answered: { id: string; issuedAt: Date } | null;
  }> {
    const [row] = isResourceId(sessionId)
      ? await this.selectSession.split(
          tx,
          [...(failures?.params ?? [null, null, null]), challengeHash, challengeHash, sessionId],
          this.db.dialect === "mysql" ? " FOR UPDATE" : "",
        )
      : [];
    if (!row) throw sessionNotFound();
    const { entity: session } = row;
    const { failuresUsed, answeredId, answeredAt } = row.extra;
    // Held under the row lock: a batched transaction numbers the session's events from it.
    if (this.db.dialect === "mysql") {
      this.db.holdSequence(tx, "sessions", session.id, Number(session.sequence));
    }
    return {
      session,
      failuresUsed:
        failuresUsed === null || failuresUsed === undefined ? null : Number(failuresUsed),
      answered:
        typeof answeredId === "string" && answeredAt !== null && answeredAt !== undefined
          ? { id: answeredId, issuedAt: parseDbDate(answeredAt as Date | string) }
          : null,
    };
  }

  private async findSession(db: EntityManager, sessionId: string): Promise<SessionEntity> {
    const session = isResourceId(sessionId)
      ? await db
          .createQueryBuilder(SessionEntity, "s")
          .where("s.id = :sessionId", { sessionId })
          .getOne()
      : null;
    if (!session) throw sessionNotFound();
    return session;
  }

  private parseChallengeRequest(request: ChallengeRequest | null | undefined): boolean {
    const webAuthN = request?.webAuthN;
    if (!webAuthN) return false;
    if (webAuthN.userVerificationRequirement !== USER_VERIFICATION_REQUIRED) {
      throw ApiError.invalidArgument(
        "SESSION-uv-required",
        `userVerificationRequirement must be ${USER_VERIFICATION_REQUIRED}: only passkeys sign in`,
      );
    }
    if (webAuthN.domain && webAuthN.domain !== this.relyingParty.id) {
      throw ApiError.invalidArgument(
        "SESSION-domain",
        `domain must be the relying party ID ${this.relyingParty.id}`,
      );
    }
    return true;
  }

  /** "18000s" → 18000; null when not given. Counted from the session's creation. */
  private parseLifetime(lifetime: string | null | undefined): number | null {
    if (lifetime === null || lifetime === undefined) return null;
    const match = /^(\d{1,10})(?:\.\d{1,9})?s$/.exec(lifetime.trim());
    const seconds = match ? Number(match[1]) : NaN;
    if (!(seconds > 0) || seconds > this.settings.maxLifetimeSeconds) {
      throw ApiError.invalidArgument(
        "SESSION-lifetime",
        `lifetime must be a duration like "18000s", above 0s and at most ${this.settings.maxLifetimeSeconds}s`,
      );
    }
    return seconds;
  }

  /** NOT_FOUND with the Signal API payload when on (SPEC 18); `credentialId` null: none. */
  private unknownCredential(credentialId: string | null): ApiError {
    const signal =
      credentialId && this.settings.signalUnknown
        ? { signal: { rpId: this.relyingParty.id, credentialId } }
        : {};
    return new ApiError(
      "NOT_FOUND",
      "SESSION-webauthn-unknown-credential",
      "no passkey with this credential is known here",
      signal,
    );
  }
}

interface BearerRow {
  sessionId: string;
  userId: string | null;
  expiresAt: Date | string;
  terminatedAt: Date | string | null;
  checkedAt: Date | string | null;
  userVerified: number | boolean;
  grantedBy: string | null;
  organizationId: string;
  state: string;
}

/**
 * What `session.webAuthN.challenged` records: which challenge (its row, never its value), when it
 * was issued (a first check writes it later) and what it asked for.
 */
function challengedPayload(challengeId: string, issuedAt: Date, rpId: string) {
  return {
    challengeId,
    issuedAt: issuedAt.toISOString(),
    rpId,
    userVerification: "required",
  };
}

/** Until its first check a session lives only as long as its latest challenge. */
function expirationOf(session: SessionEntity): Date {
  if (session.webauthnCheckedAt !== null) return session.expiresAt;
  return session.pendingUntil.getTime() < session.expiresAt.getTime()
    ? session.pendingUntil
    : session.expiresAt;
}

/** Whether a verified passkey of `user` may check this session (its user, or the named one). */
function bindsTo(session: SessionEntity, user: UserEntity): boolean {
  if (session.userId !== null) return session.userId === user.id;
  if (session.checkUserId !== null) return session.checkUserId === user.id;
  if (session.loginNameKey !== null) {
    return (
      session.loginNameKey === user.usernameKey && session.organizationId === user.organizationId
    );
  }
  return true;
}

function parseUserCheck(check: UserCheck | null | undefined): UserCheck | null {
  if (!check) return null;
  const userId = check.userId ?? null;
  const loginName = check.loginName?.trim() || null;
  if ((userId === null) === (loginName === null) || (loginName?.length ?? 0) > 200) {
    throw ApiError.invalidArgument(
      "SESSION-check-user",
      "checks.user needs exactly one of userId and loginName",
    );
  }
  return { userId, loginName };
}

function parseClientData(
  response: Record<string, unknown>,
): { challenge: string; type: unknown; crossOrigin: unknown } | null {
  const encoded = (response.response as { clientDataJSON?: unknown } | undefined)?.clientDataJSON;
  if (typeof encoded !== "string" || encoded.length > 10_000) return null;
  try {
    const data = JSON.parse(Buffer.from(encoded, "base64url").toString("utf8")) as Record<
      string,
      unknown
    >;
    if (typeof data.challenge !== "string" || data.challenge.length > 512) return null;
    return { challenge: data.challenge, type: data.type, crossOrigin: data.crossOrigin };
  } catch {
    return null;
  }
}

/** The library's reason in our words: it quotes expected values that are not the caller's. */
function reasonOf(error: unknown): string {
  const reason = error instanceof Error ? error.message : "";
  if (/origin/i.test(reason)) return "it comes from an origin this server does not accept";
  if (/rp ?id/i.test(reason)) return "it was made for another relying party";
  if (/user verif|user was not verified/i.test(reason))
    return "the authenticator did not verify the user";
  if (/challenge/i.test(reason)) return "it answers another challenge";
  return "its signature or data are not valid";
}

function invalidAssertion(why: string): ApiError {
  return ApiError.invalidArgument("SESSION-webauthn-invalid", `the passkey check failed: ${why}`);
}

function noChallenge(): ApiError {
  return ApiError.failedPrecondition(
    "SESSION-webauthn-no-challenge",
    "the session has no open passkey challenge: request one (challenges.webAuthN)",
  );
}

function userMismatch(): ApiError {
  return ApiError.invalidArgument(
    "SESSION-webauthn-user-mismatch",
    "this passkey does not belong to the session's user",
  );
}

function tokenInvalid(): ApiError {
  return ApiError.permissionDenied("SESSION-token-invalid", "the session token is not valid");
}

function sessionNotFound(): ApiError {
  return ApiError.notFound("SESSION-not-found", "session not found");
}

function sessionScope(): ApiError {
  return ApiError.permissionDenied(
    "SESSION-scope",
    "a session token may call only self-service operations for its own user",
  );
}
