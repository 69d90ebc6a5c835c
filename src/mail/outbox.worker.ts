// The outbox worker: claims due mails, sends them through the transport, records each outcome with
// its event. Runs in every server process; the claim protocol keeps processes from sharing a row.
import type { FastifyBaseLogger } from "fastify";
import type { Config } from "../config";
import type { Database } from "../db/database";
import type { Metrics } from "../core/metrics";
import type { Clock } from "../core/clock";
import type { EventStore } from "../core/event-store";
import { PASSKEY_EVENTS } from "../core/event-names";
import { FailureLog } from "./failure-log";
import type {
  MailTemplates,
  PasskeyCloneMailVariables,
  PasskeyNoticeMailVariables,
  PasskeyRemovedMailVariables,
  RenderedMail,
} from "./mail-templates";
import type { MailTransport } from "./mail-transport";
import type { MailKind } from "../entities/outbox-message.entity";
import { OutboxShards } from "./outbox-shards";
import { describeFailure, isPermanentFailure } from "./mail-transport";
import type {
  ClaimedMail,
  OutboxService,
  Outcome,
  PasskeyCloneNoticeVariables,
  PasskeyNoticeVariables,
  PasskeyRemovedNoticeVariables,
} from "./outbox.service";

/**
 * Batches one worker holds at once: one being sent (or recorded) while the next is claimed and
 * waits for the connections, so they never sit idle between batches.
 */
export const BATCHES_IN_FLIGHT = 2;

/** Creator recorded on events the worker writes. */
export const SYSTEM_CREATOR = "SYSTEM";

export interface OutboxWorkerDeps {
  db: Database;
  outbox: OutboxService;
  transport: MailTransport;
  templates: MailTemplates;
  noticeTemplates: MailTemplates<PasskeyNoticeMailVariables>;
  removedNoticeTemplates: MailTemplates<PasskeyRemovedMailVariables>;
  cloneNoticeTemplates: MailTemplates<PasskeyCloneMailVariables>;
  events: EventStore;
  clock: Clock;
  settings: Config["outbox"];
  /** Parallel sends (SMTP_MAX_CONNECTIONS: the transport's pool holds as many connections). */
  sendConcurrency: number;
  mailFrom: string;
  log: FastifyBaseLogger;
  metrics: Metrics;
}

export class OutboxWorker {
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private readonly shards: OutboxShards;
  private readonly failures: FailureLog;
  private readonly sendSlots: SendSlots;

  /** Renders a row of each kind: a link mail from its sealed link, a notice from its variables. */
  private readonly composers: Record<MailKind, (mail: ClaimedMail) => RenderedMail>;

  constructor(private readonly deps: OutboxWorkerDeps) {
    this.sendSlots = new SendSlots(deps.sendConcurrency);
    this.shards = new OutboxShards(deps.db);
    this.failures = new FailureLog(deps.log, "outbox worker failed");
    this.composers = {
      PASSKEY_LINK: (mail) =>
        deps.templates.render(mail.language, {
          displayName: mail.displayName,
          link: deps.outbox.openLink(mail),
          lifetimeSeconds: Math.round(
            (mail.codeExpiresAt.getTime() - mail.createdAt.getTime()) / 1000,
          ),
          expiresAt: mail.codeExpiresAt,
        }),
      PASSKEY_ADDED: notice(deps.noticeTemplates, (v: PasskeyNoticeVariables) => ({
        passkeyName: v.passkeyName,
        addedAt: new Date(v.addedAt),
      })),
      PASSKEY_REMOVED: notice(deps.removedNoticeTemplates, (v: PasskeyRemovedNoticeVariables) => ({
        passkeyName: v.passkeyName,
        removedAt: new Date(v.removedAt),
      })),
      PASSKEY_CLONE: notice(deps.cloneNoticeTemplates, (v: PasskeyCloneNoticeVariables) => ({
        passkeyName: v.passkeyName,
        provider: v.provider,
        detectedAt: new Date(v.detectedAt),
      })),
    };
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** A mail was just queued in this process: look now instead of at the next poll. */
  kick(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  /** Stops polling and waits for the sends in flight to finish and be recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.draining;
    await this.shards
      .leave()
      .catch((error: unknown) =>
        this.deps.log.warn({ err: error }, "outbox worker did not sign off"),
      );
    this.deps.transport.close();
  }

  /**
   * Claims and delivers batches until none is full; resolves to the number of mails handled, once
   * every claimed batch has been sent and recorded. Batches overlap: while one is being sent, the
   * next is claimed and queued behind it for the same connections, and a batch whose sends are done
   * is recorded while the next one's go out, so the connections do not wait for the database.
   * At most BATCHES_IN_FLIGHT batches are held at once; each keeps its own claim token and lease.
   */
  async drain(): Promise<number> {
    const { batchSize, leaseMs } = this.deps.settings;
    let handled = 0;
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    try {
      for (;;) {
        this.again = false;
        const batch = await this.deps.outbox.claimDue(
          batchSize,
          leaseMs,
          await this.shards.current(),
        );
        if (batch.length > 0) {
          // A claimed batch is always sent and recorded, also when the worker stops meanwhile.
          const delivery: Promise<void> = this.deliver(batch)
            .catch((error: unknown) => {
              failure ??= { error };
            })
            .finally(() => inFlight.delete(delivery));
          inFlight.add(delivery);
        }
        handled += batch.length;
        if (this.stopped || failure || (batch.length < batchSize && !this.again)) break;
        while (inFlight.size >= BATCHES_IN_FLIGHT) await Promise.race(inFlight);
        if (this.stopped || failure) break;
      }
    } finally {
      // Never rejects: a failed delivery is kept in `failure`.
      await Promise.all(inFlight);
    }
    if (failure) throw failure.error;
    return handled;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.draining = this.drain()
        .then(
          () => this.failures.succeeded(),
          (error: unknown) => this.failures.failed(error),
        )
        .then(() => {
          this.draining = undefined;
          if (!this.stopped) this.schedule(this.again ? 0 : this.deps.settings.pollMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  /**
   * Sends a claimed batch, `sendConcurrency` mails at a time across all batches in flight, then
   * records every outcome and event in one transaction.
   */
  private async deliver(batch: ClaimedMail[]): Promise<void> {
    // The claim is renewed while sends are in flight, so a slow SMTP server never lets the lease
    // run out and another worker send the same mail again. Should renewing fail (the database is
    // away), no send starts once half the lease since the last renewal is gone.
    const claim = this.holdClaim(batch);
    let results: { mail: ClaimedMail; outcome: Outcome }[];
    try {
      // Queued for the worker's send slots in claim order: an earlier batch's mails go first.
      // Every send is waited for, even should one fail unexpectedly, so none is left unrecorded
      // running after the worker stopped.
      results = await allOrFirstError(
        batch.map((mail) =>
          this.sendSlots.run(async () => ({
            mail,
            outcome: claim.mayStart()
              ? await this.attempt(mail)
              : ({
                  kind: "retry",
                  error: "not attempted: the claim ran low on time",
                  at: this.deps.clock.now(),
                } as const),
          })),
        ),
      );
    } finally {
      await claim.release();
    }
    // Batched: the locking read goes out with START TRANSACTION, the row updates with the
    // sequence bump, the events with COMMIT.
    const held = await this.deps.db.transaction(
      async (tx) => {
        const recorded = await this.deps.outbox.recordBatch(tx, batch[0]!.claimToken, results);
        await this.deps.events.appendToEach(
          tx,
          "user",
          SYSTEM_CREATOR,
          results
            // Code events for link mails; a notice's outcome is in the log and the outbox row.
            .filter(
              ({ mail, outcome }) =>
                recorded.has(mail.id) && outcome.kind !== "retry" && mail.kind === "PASSKEY_LINK",
            )
            .map(({ mail, outcome }) => ({
              aggregate: {
                type: "user" as const,
                id: mail.userId,
                resourceOwner: mail.organizationId,
              },
              event:
                outcome.kind === "sent"
                  ? {
                      type: PASSKEY_EVENTS.sent,
                      payload: { codeId: mail.codeId, messageId: mail.messageId },
                    }
                  : {
                      type: PASSKEY_EVENTS.sendFailed,
                      payload: {
                        codeId: mail.codeId,
                        error: "error" in outcome ? outcome.error : "",
                      },
                    },
            })),
        );
        return recorded;
      },
      { batched: true },
    );
    for (const { mail, outcome } of results) this.logOutcome(mail, outcome, held.has(mail.id));
  }

  /** Renews the batch's claim every third of the lease until released. */
  private holdClaim(batch: ClaimedMail[]): { mayStart(): boolean; release(): Promise<void> } {
    const { leaseMs } = this.deps.settings;
    const ids = batch.map((mail) => mail.id);
    const token = batch[0]!.claimToken;
    let renewedAt = Date.now();
    let renewing: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      const started = Date.now();
      renewing = this.deps.outbox.renewClaim(ids, token, leaseMs).then(
        () => {
          renewedAt = started;
        },
        (error: unknown) => this.deps.log.warn({ err: error }, "outbox claim could not be renewed"),
      );
    }, leaseMs / 3);
    timer.unref();
    return {
      mayStart: () => Date.now() < renewedAt + leaseMs / 2,
      release: async () => {
        clearInterval(timer);
        await renewing;
      },
    };
  }

  private logOutcome(mail: ClaimedMail, outcome: Outcome, recorded: boolean): void {
    const context = {
      outboxId: mail.id,
      kind: mail.kind,
      codeId: mail.codeId,
      attempt: mail.attempts,
    };
    this.deps.metrics.mailDelivery(
      outcome.kind === "sent" ? "sent" : outcome.kind === "retry" ? "retried" : "failed",
    );
    if (!recorded) {
      this.deps.log.warn(
        context,
        "outbox row was ended or re-claimed before the outcome was recorded",
      );
    } else if (outcome.kind === "sent") {
      this.deps.log.info(
        context,
        mail.kind === "PASSKEY_LINK" ? "passkey link mail sent" : "passkey notice mail sent",
      );
    } else if (outcome.kind === "retry") {
      this.deps.log.warn(
        { ...context, error: outcome.error, retryAt: outcome.at },
        "mail delivery failed; will retry",
      );
    } else {
      this.deps.log.error({ ...context, error: outcome.error }, "mail delivery given up");
    }
  }

  private async attempt(mail: ClaimedMail): Promise<Outcome> {
    const now = this.deps.clock.now();
    if (mail.codeExpiresAt.getTime() <= now.getTime()) {
      return {
        kind: "failed",
        error:
          mail.kind === "PASSKEY_LINK"
            ? "the code expired before the mail could be delivered"
            : "the notice could not be delivered in time",
      };
    }
    let message;
    try {
      message = this.compose(mail);
    } catch (error) {
      this.deps.log.error({ err: error, outboxId: mail.id }, "mail could not be prepared");
      return { kind: "failed", error: "the mail could not be prepared (see the server log)" };
    }
    try {
      await this.deps.transport.send({
        messageId: mail.messageId,
        from: this.deps.mailFrom,
        to: mail.recipient,
        subject: message.subject,
        html: message.html,
        text: message.text,
      });
      return { kind: "sent" };
    } catch (error) {
      return this.afterFailure(mail, error, now);
    }
  }

  private compose(mail: ClaimedMail): RenderedMail {
    const compose = this.composers[mail.kind];
    if (!compose) throw new Error(`unknown mail kind ${String(mail.kind)}`);
    return compose(mail);
  }

  private afterFailure(mail: ClaimedMail, error: unknown, now: Date): Outcome {
    const description = describeFailure(error);
    const { maxAttempts, giveUpAfterSeconds, retryBaseMs, retryMaxMs } = this.deps.settings;
    if (isPermanentFailure(error)) return { kind: "failed", error: description };
    const age = now.getTime() - mail.createdAt.getTime();
    if (mail.attempts >= maxAttempts || age >= giveUpAfterSeconds * 1000) {
      return { kind: "failed", error: `gave up after ${mail.attempts} attempts: ${description}` };
    }
    const backoff = Math.min(retryMaxMs, retryBaseMs * 2 ** (mail.attempts - 1));
    const jittered = backoff / 2 + Math.random() * (backoff / 2);
    return { kind: "retry", error: description, at: new Date(now.getTime() + jittered) };
  }
}

/**
 * Renders a notice row: the values its `variables` column keeps (times as ISO strings), turned
 * back into the template's, with the addressee's display name.
 */
function notice<Stored, V extends { displayName: string }>(
  templates: MailTemplates<V>,
  revive: (stored: Stored) => Omit<V, "displayName">,
): (mail: ClaimedMail) => RenderedMail {
  return (mail) =>
    templates.render(mail.language, {
      displayName: mail.displayName,
      ...revive(JSON.parse(mail.variables ?? "{}") as Stored),
    } as V);
}

/** Waits for every promise; then resolves to their values, or rejects with the first failure. */
async function allOrFirstError<T>(promises: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((outcome) => outcome.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<T>).value);
}

/** A FIFO of `size` slots: work runs in the order it asked for a slot, at most `size` at a time. */
class SendSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in line, if any.
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    }
  }
}
