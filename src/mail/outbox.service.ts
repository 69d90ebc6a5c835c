// The mail outbox table: enqueue inside a business transaction, claim due rows without two workers
// ever holding the same row, and record each outcome. Links are stored only encrypted.
import type { EntityManager } from "typeorm";
import { In } from "typeorm";
import type { Database } from "../db/database";
import { OutboxMessageEntity } from "../entities/outbox-message.entity";
import type { Clock, IdGenerator } from "../services/clock";
import type { KeyRing } from "../services/key-ring";
import { seal, unseal } from "../services/key-ring";

export interface NewMail {
  codeId: string;
  userId: string;
  organizationId: string;
  recipient: string;
  displayName: string;
  language: string | null;
  link: string;
  codeExpiresAt: Date;
}

/** A row this worker holds until `nextAttemptAt`; its outcome is recorded only under `claimToken`. */
export type ClaimedMail = OutboxMessageEntity & { claimToken: string };

export type Outcome =
  { kind: "sent" } | { kind: "retry"; error: string; at: Date } | { kind: "failed"; error: string };

export class OutboxService {
  constructor(
    private readonly db: Database,
    private readonly keys: KeyRing,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    /** Right-hand side of generated Message-IDs, e.g. the MAIL_FROM domain. */
    private readonly messageIdDomain: string,
  ) {}

  /** Queues a mail in the caller's transaction; it is due at once. Returns the outbox row ID. */
  async enqueue(tx: EntityManager, mail: NewMail): Promise<string> {
    const id = this.ids.next();
    const now = this.clock.now();
    await tx
      .createQueryBuilder()
      .insert()
      .into(OutboxMessageEntity)
      .values({
        id,
        codeId: mail.codeId,
        userId: mail.userId,
        organizationId: mail.organizationId,
        recipient: mail.recipient,
        displayName: mail.displayName,
        language: mail.language,
        linkCiphertext: seal(this.keys.outboxKey, mail.link, id),
        messageId: `<${id}@${this.messageIdDomain}>`,
        state: "QUEUED",
        attempts: 0,
        nextAttemptAt: now,
        claimToken: null,
        lastError: null,
        codeExpiresAt: mail.codeExpiresAt,
        createdAt: now,
        sentAt: null,
      })
      .updateEntity(false)
      .execute();
    return id;
  }

  /** The link of a claimed mail; throws when the ciphertext does not open (e.g. another key). */
  openLink(mail: OutboxMessageEntity): string {
    if (mail.linkCiphertext === null) throw new Error("the outbox row holds no link");
    return unseal(this.keys.outboxKey, mail.linkCiphertext, mail.id);
  }

  /**
   * Claims up to `limit` due rows for `leaseMs`: their `nextAttemptAt` moves past the lease, so
   * other workers skip them, and a crashed worker's rows become due again when it runs out.
   * MySQL/MariaDB lock the candidates with FOR UPDATE SKIP LOCKED, so concurrent workers pick
   * disjoint rows without waiting; SQLite claims in one UPDATE under its single-writer lock.
   */
  async claimDue(limit: number, leaseMs: number): Promise<ClaimedMail[]> {
    const token = this.ids.next();
    const now = this.clock.now();
    const until = new Date(now.getTime() + leaseMs);
    const claimed = await this.claimTransaction(async (tx) => {
      const due = tx
        .createQueryBuilder(OutboxMessageEntity, "o")
        .select("o.id", "id")
        .where("o.state = :state AND o.nextAttemptAt <= :now", { state: "QUEUED", now })
        .orderBy("o.nextAttemptAt", "ASC")
        .limit(limit);
      if (this.db.dialect === "mysql") {
        const rows = await due
          .setLock("pessimistic_write")
          .setOnLocked("skip_locked")
          .getRawMany<{ id: string }>();
        if (rows.length === 0) return 0;
        await this.markClaimed(tx, token, until)
          .andWhere({ id: In(rows.map((row) => row.id)) })
          .execute();
        return rows.length;
      }
      const result = await this.markClaimed(tx, token, until)
        .andWhere(`id IN (${due.getQuery()})`)
        .setParameters(due.getParameters())
        .execute();
      return result.affected ?? 0;
    });
    if (claimed === 0) return [];
    return (await this.db.read((db) =>
      db.getRepository(OutboxMessageEntity).find({ where: { claimToken: token } }),
    )) as ClaimedMail[];
  }

  /**
   * MySQL/MariaDB claim under READ COMMITTED: under REPEATABLE READ the claim's scans also lock the
   * gaps between rows, and a request enqueueing a mail into such a gap deadlocks with it.
   */
  private claimTransaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.db.dialect === "mysql"
      ? this.db.dataSource.transaction("READ COMMITTED", work)
      : this.db.transaction(work);
  }

  private markClaimed(tx: EntityManager, token: string, until: Date) {
    return tx
      .createQueryBuilder()
      .update(OutboxMessageEntity)
      .set({ claimToken: token, nextAttemptAt: until, attempts: () => "attempts + 1" })
      .where("state = :queued", { queued: "QUEUED" });
  }

  /**
   * Records the outcomes of one claimed batch, in the caller's transaction: sent rows in one
   * statement, the rare retries and failures one by one. Sent and failed rows lose their
   * ciphertext. Rows whose claim was lost (the lease ran out and another worker took them, or the
   * code was ended meanwhile) are left alone; the returned set names the rows that were recorded.
   */
  async recordBatch(
    tx: EntityManager,
    token: string,
    results: readonly { mail: ClaimedMail; outcome: Outcome }[],
  ): Promise<Set<string>> {
    const stillHeld = await this.db
      .forUpdate(
        tx
          .createQueryBuilder(OutboxMessageEntity, "o")
          .select("o.id", "id")
          .where("o.claimToken = :token AND o.state = :queued", { token, queued: "QUEUED" }),
      )
      .getRawMany<{ id: string }>();
    const held = new Set(stillHeld.map((row) => row.id));
    const now = this.clock.now();
    const mine = results.filter(({ mail }) => held.has(mail.id));
    const sent = mine.filter(({ outcome }) => outcome.kind === "sent").map(({ mail }) => mail.id);
    if (sent.length > 0) {
      await this.update(tx, sent, {
        state: "SENT",
        sentAt: now,
        linkCiphertext: null,
        lastError: null,
      });
    }
    for (const { mail, outcome } of mine) {
      if (outcome.kind === "failed") {
        await this.update(tx, [mail.id], {
          state: "FAILED",
          linkCiphertext: null,
          lastError: truncate(outcome.error),
        });
      } else if (outcome.kind === "retry") {
        await this.update(tx, [mail.id], {
          nextAttemptAt: outcome.at,
          lastError: truncate(outcome.error),
        });
      }
    }
    return held;
  }

  private async update(tx: EntityManager, ids: string[], changes: Partial<OutboxMessageEntity>) {
    await tx
      .createQueryBuilder()
      .update(OutboxMessageEntity)
      .set({ ...changes, claimToken: null })
      .where({ id: In(ids) })
      .execute();
  }

  /** Ends queued mails of revoked codes (or of a removed user) so they are never sent. */
  async cancelQueued(
    tx: EntityManager,
    where: { codeId: string } | { userId: string },
  ): Promise<void> {
    await tx
      .createQueryBuilder()
      .update(OutboxMessageEntity)
      .set({
        state: "FAILED",
        linkCiphertext: null,
        lastError: "cancelled: the code was ended",
        claimToken: null,
      })
      .where("state = :queued", { queued: "QUEUED" })
      .andWhere(where)
      .execute();
  }
}

function truncate(message: string): string {
  return message.length > 500 ? `${message.slice(0, 497)}...` : message;
}
