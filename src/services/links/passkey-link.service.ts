// The three passkey-link operations: return a link, email a link (v1), and the v2 operation that
// either returns the code or emails a link built from a client template.
import type { EntityManager, ObjectLiteral, SelectQueryBuilder } from "typeorm";
import type { Config } from "../../config";
import type { Database } from "../../db/database";
import { OutboxMessageEntity } from "../../entities/outbox-message.entity";
import { PasskeyCodeEntity } from "../../entities/passkey-code.entity";
import type { UserEntity } from "../../entities/user.entity";
import { ApiError } from "../../errors";
import type { OutboxService } from "../../mail/outbox.service";
import { recipientKey } from "../../mail/outbox.service";
import type { IssuedMedium, Metrics } from "../../core/metrics";
import type { Clock } from "../../core/clock";
import type { EventStore, WriteDetails } from "../../core/event-store";
import { LinkTemplate } from "../../config/link-template";
import type { IssuedCode, PasskeyCodeService } from "./passkey-code.service";
import { PASSKEY_EVENTS } from "../../core/event-names";
import type { Permission } from "../identity/permissions";
import type { Caller, RequestContext } from "../../core/request-context";
import { requireCaller, requireSelfService } from "../../core/request-context";
import { parseDbDate } from "../identity/token.service";
import type { UserService } from "../identity/user.service";
import { userAggregate } from "../identity/user.service";

export interface CreateRegistrationLinkRequest {
  userId: string;
  sendLink?: { urlTemplate?: string | null } | null;
  returnCode?: boolean | null;
}

export class PasskeyLinkService {
  private readonly defaultTemplate: LinkTemplate;

  constructor(
    private readonly db: Database,
    private readonly events: EventStore,
    private readonly users: UserService,
    private readonly codes: PasskeyCodeService,
    private readonly outbox: OutboxService,
    private readonly clock: Clock,
    private readonly config: Pick<
      Config,
      "linkUrlTemplate" | "linkAllowedOrigins" | "sendRateLimit"
    >,
    private readonly metrics: Metrics,
  ) {
    this.defaultTemplate = LinkTemplate.parse(
      config.linkUrlTemplate,
      config.linkAllowedOrigins,
      1000,
    );
  }

  /** "3600s": the code lifetime as ZITADEL reports it. */
  get expiration(): string {
    return `${this.codes.lifetimeSeconds}s`;
  }

  /**
   * ZITADEL Auth/Mgmt v1 AddPasskeyLink: returns a link with a fresh code. For another user the
   * caller needs `user.credential.write` in that user's organization; for itself, nothing.
   */
  async addLink(
    ctx: RequestContext,
    userId?: string | null,
  ): Promise<{ details: WriteDetails; link: string }> {
    return this.act(
      ctx,
      userId,
      "user.credential.write",
      { medium: "LINK", selfService: true },
      async (tx, target, caller) => {
        const { issued, details } = await this.issueUnsent(tx, target, caller, "LINK");
        return { details, link: this.defaultTemplate.render(linkValues(target, issued)) };
      },
    );
  }

  /** ZITADEL Auth/Mgmt v1 SendPasskeyLink: emails the default link. Others need `user.write`. */
  async sendLink(ctx: RequestContext, userId?: string | null): Promise<WriteDetails> {
    return this.act(
      ctx,
      userId,
      "user.write",
      { medium: "EMAIL", selfService: true },
      (tx, target, caller) => this.queueMail(tx, target, caller, this.defaultTemplate, null),
    );
  }

  /**
   * ZITADEL User v2 CreatePasskeyRegistrationLink, with `user.passkey.write` for other users.
   * `returnCode` returns the code and sends nothing; otherwise (the default) the link is emailed,
   * built from `sendLink.urlTemplate` when given.
   */
  async createRegistrationLink(
    ctx: RequestContext,
    request: CreateRegistrationLinkRequest,
  ): Promise<{ details: WriteDetails; code: { id: string; code: string } | null }> {
    const returnCode = request.returnCode === true;
    return this.act(
      ctx,
      request.userId,
      "user.passkey.write",
      { medium: returnCode ? "RETURNED" : "EMAIL" },
      async (tx, target, caller) => {
        if (returnCode && request.sendLink) {
          throw ApiError.invalidArgument(
            "LINK-medium-both",
            "choose one medium: sendLink or returnCode, not both",
          );
        }
        if (returnCode) {
          const { issued, details } = await this.issueUnsent(tx, target, caller, "RETURNED");
          return { details, code: { id: issued.codeId, code: issued.code } };
        }
        const source = request.sendLink?.urlTemplate;
        const template =
          source === undefined || source === null
            ? this.defaultTemplate
            : LinkTemplate.parse(source, this.config.linkAllowedOrigins);
        return {
          details: await this.queueMail(tx, target, caller, template, source ?? null),
          code: null,
        };
      },
    );
  }

  /**
   * The shared frame, in SPEC order: authenticate; resolve the target (NOT_FOUND); permission in
   * the target's organization unless acting on oneself (PERMISSION_DENIED); the target's state
   * (FAILED_PRECONDITION); then `work`, which validates the request and acts — all in one
   * transaction holding the user's row, so concurrent requests for one user queue up.
   */
  private async act<T>(
    ctx: RequestContext,
    userId: string | null | undefined,
    permission: Permission,
    options: { medium: IssuedMedium; selfService?: boolean },
    work: (tx: EntityManager, target: UserEntity, caller: Caller) => Promise<T>,
  ): Promise<T> {
    // Minting for oneself is self-service (SPEC 18): a session token may, after a recent check.
    const caller = options.selfService
      ? requireSelfService(ctx, userId, { reauth: true })
      : requireCaller(ctx);
    const result = await this.db.transaction(
      async (tx) => {
        const target = await this.users.authorizeOnUser(
          tx,
          caller,
          userId ?? caller.userId,
          permission,
          {
            allowSelf: true,
            lock: true,
          },
        );
        assertEligible(target, options.medium === "EMAIL");
        return work(tx, target, caller);
      },
      // A returned code or link minted with a token runs only compiled statements: the user's
      // locking read, the guarded code INSERT, the sequence bump and the event, so it can batch
      // them (3 exchanges with the database instead of 6, see Database.transaction). Mails and
      // sessions take more statements and run unbatched.
      { batched: options.medium !== "EMAIL" && caller.session === undefined },
    );
    this.metrics.codeIssued(options.medium);
    if (options.medium === "EMAIL") this.outbox.queued();
    return result;
  }

  /** A code handed to the caller (as a link or as the code itself), with its "added" event. */
  private async issueUnsent(
    tx: EntityManager,
    target: UserEntity,
    caller: Caller,
    medium: "LINK" | "RETURNED",
  ): Promise<{ issued: IssuedCode; details: WriteDetails }> {
    const issued = await this.codes.issue(tx, target, caller, medium);
    const details = await this.appendCodeEvent(tx, target, caller, issued, PASSKEY_EVENTS.added, {
      medium,
    });
    return { issued, details };
  }

  private async queueMail(
    tx: EntityManager,
    target: UserEntity,
    caller: Caller,
    template: LinkTemplate,
    urlTemplate: string | null,
  ): Promise<WriteDetails> {
    await this.enforceSendLimit(tx, target);
    const issued = await this.codes.issue(tx, target, caller, "EMAIL");
    await this.outbox.enqueue(tx, {
      codeId: issued.codeId,
      userId: target.id,
      organizationId: target.organizationId,
      recipient: target.email!,
      displayName: target.displayName,
      language: target.preferredLanguage,
      link: template.render(linkValues(target, issued)),
      codeExpiresAt: issued.expiresAt,
    });
    return this.appendCodeEvent(tx, target, caller, issued, PASSKEY_EVENTS.requested, {
      medium: "EMAIL",
      ...(urlTemplate ? { urlTemplate } : {}),
    });
  }

  /**
   * At most `max` emailed codes per user, and as many link mails to one recipient address (users
   * sharing an address must not multiply the mails it gets; passkey-added notices do not count),
   * per window, counted in one statement. The user's row lock makes the per-user count exact, the
   * address's lock row the per-address one.
   */
  private async enforceSendLimit(tx: EntityManager, target: UserEntity): Promise<void> {
    const recipient = recipientKey(target.email!);
    await this.outbox.lockRecipient(tx, recipient);
    const { max, windowSeconds } = this.config.sendRateLimit;
    const now = this.clock.now();
    const since = new Date(now.getTime() - windowSeconds * 1000);
    const toRecipient = (column: string) => (sub: SelectQueryBuilder<ObjectLiteral>) =>
      sub
        .select(column)
        .from(OutboxMessageEntity, "o")
        .where("o.recipientKey = :recipient AND o.kind = :link AND o.createdAt > :since");
    const recent = await tx
      .createQueryBuilder(PasskeyCodeEntity, "c")
      .select("COUNT(*)", "count")
      .addSelect("MIN(c.createdAt)", "oldest")
      .addSelect(toRecipient("COUNT(*)"), "toRecipient")
      .addSelect(toRecipient("MIN(o.createdAt)"), "oldestToRecipient")
      .where("c.userId = :userId AND c.medium = :medium AND c.createdAt > :since", {
        userId: target.id,
        medium: "EMAIL",
        since,
        recipient,
        link: "PASSKEY_LINK",
      })
      .getRawOne<
        Record<"count" | "toRecipient", number | string> &
          Record<"oldest" | "oldestToRecipient", Date | string | null>
      >();
    const retryAt = (oldest: Date | string) =>
      new Date(parseDbDate(oldest).getTime() + windowSeconds * 1000);
    if (recent?.oldest && Number(recent.count) >= max) {
      throw ApiError.resourceExhausted(
        "LINK-send-rate-limited",
        `too many links sent to this user: at most ${max} per ${windowSeconds}s; ` +
          "revoking a code does not free a slot (every link sent counts for the window)",
        retryAt(recent.oldest),
        now,
      );
    }
    if (recent?.oldestToRecipient && Number(recent.toRecipient) >= max) {
      throw ApiError.resourceExhausted(
        "LINK-recipient-rate-limited",
        `too many links sent to this email address: at most ${max} per ${windowSeconds}s; ` +
          "revoking a code does not free a slot (every link sent counts for the window)",
        retryAt(recent.oldestToRecipient),
        now,
      );
    }
  }

  private appendCodeEvent(
    tx: EntityManager,
    target: UserEntity,
    caller: Caller,
    issued: IssuedCode,
    type: string,
    extra: Record<string, unknown>,
  ): Promise<WriteDetails> {
    return this.events.append(tx, userAggregate(target), caller.userId, [
      { type, payload: { codeId: issued.codeId, expiry: this.expiration, ...extra } },
    ]);
  }
}

/** Only active humans can register passkeys; sending also needs an address (verified or not). */
export function assertEligible(user: UserEntity, sending: boolean): void {
  if (user.type !== "HUMAN") {
    throw ApiError.failedPrecondition(
      "LINK-user-machine",
      "machine users cannot register passkeys",
    );
  }
  if (user.state !== "ACTIVE") {
    throw ApiError.failedPrecondition(
      "LINK-user-not-active",
      `the user is ${user.state.toLowerCase()}`,
    );
  }
  if (sending && !user.email) {
    throw ApiError.failedPrecondition("LINK-user-no-email", "the user has no email address");
  }
}

function linkValues(user: UserEntity, issued: IssuedCode) {
  return { UserID: user.id, OrgID: user.organizationId, CodeID: issued.codeId, Code: issued.code };
}
