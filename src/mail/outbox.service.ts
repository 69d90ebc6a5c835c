// The mail outbox table: enqueue inside a business transaction, claim due rows without two workers
// ever holding the same row, and record each outcome. Links are stored only encrypted.
import { domainToASCII } from "node:url";
import type { EntityManager } from "typeorm";
import { In } from "typeorm";
import type { Database } from "../db/database";
import { CompiledSelect, CompiledUpdate, EntitySql, kept, placeholders } from "../db/compiled-sql";
import type { OutboxBacklog } from "../core/metrics";
import { MailRecipientEntity } from "../entities/mail-recipient.entity";
import { OutboxMessageEntity } from "../entities/outbox-message.entity";
import type { MailKind } from "../entities/outbox-message.entity";
import type { Clock, IdGenerator } from "../core/clock";
import type { KeyRing } from "../core/key-ring";
import { seal, unseal } from "../core/key-ring";
import { shardOf } from "./outbox-shards";

interface Addressee {
  userId: string;
  organizationId: string;
  recipient: string;
  displayName: string;
  language: string | null;
}

/** A registration link for the user. */
export interface NewMail extends Addressee {
  codeId: string;
  link: string;
  codeExpiresAt: Date;
}

/** "A passkey was added to your account": no link, no code. */
export interface NewPasskeyNotice extends Addressee {
  passkeyName: string;
  addedAt: Date;
}

/** "A passkey was removed from your account": which one, and when. */
export interface NewPasskeyRemovedNotice extends Addressee {
  passkeyName: string;
  removedAt: Date;
}

/** "A passkey of your account may have been copied": which one, its provider, and when. */
export interface NewPasskeyCloneNotice extends Addressee {
  passkeyName: string;
  provider: string | null;
  detectedAt: Date;
}

/** The template values a PASSKEY_CLONE row keeps in `variables`. */
export interface PasskeyCloneNoticeVariables {
  passkeyName: string;
  provider: string | null;
  detectedAt: string;
}

/** The template values a PASSKEY_REMOVED row keeps in `variables`. */
export interface PasskeyRemovedNoticeVariables {
  passkeyName: string;
  removedAt: string;
}

/** The template values a PASSKEY_ADDED row keeps in `variables`. */
export interface PasskeyNoticeVariables {
  passkeyName: string;
  addedAt: string;
}

/** A row this worker holds until `nextAttemptAt`; its outcome is recorded only under `claimToken`. */
export type ClaimedMail = OutboxMessageEntity & { claimToken: string };

export type Outcome =
  { kind: "sent" } | { kind: "retry"; error: string; at: Date } | { kind: "failed"; error: string };

/**
 * Providers known to ignore dots in the local part ("a.da@" is "ada@"): Gmail, under both of its
 * domains, which are one mailbox namespace. Others (Outlook, Yahoo, Fastmail, ...) treat dots
 * as significant, so folding them there would merge distinct people's limits.
 */
const DOTS_IGNORED = new Set(["gmail.com", "googlemail.com"]);

/**
 * The key the per-address send limit counts and locks by: one key per mailbox, so aliases share
 * the limit. The `+tag` of RFC 5233 sub-addressing is dropped, the local part compared
 * case-insensitively (as every common provider does), dots dropped where DOTS_IGNORED says,
 * and the domain lower-cased and IDNA-encoded ("bücher.example" and "xn--bcher-kva.example").
 */
export function recipientKey(address: string): string {
  const at = address.lastIndexOf("@");
  if (at === -1) return address.trim().toLowerCase();
  const domain = address
    .slice(at + 1)
    .trim()
    .toLowerCase();
  const asciiDomain = domainToASCII(domain) || domain;
  let local = address.slice(0, at).trim().toLowerCase();
  const tag = local.indexOf("+");
  if (tag !== -1) local = local.slice(0, tag);
  if (DOTS_IGNORED.has(asciiDomain)) {
    return `${local.replaceAll(".", "")}@gmail.com`;
  }
  return `${local}@${asciiDomain}`;
}

export class OutboxService {
  private queuedListener: () => void = () => undefined;
  /** The claim's and the record's statements (the data source is connected when this is built). */
  private readonly sql: OutboxSql;

  constructor(
    private readonly db: Database,
    private readonly keys: KeyRing,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    /** Right-hand side of generated Message-IDs, e.g. the MAIL_FROM domain. */
    private readonly messageIdDomain: string,
  ) {
    this.sql = new OutboxSql(db);
  }

  /** Registers who is told when mail was queued (the worker of this process, to look at once). */
  onQueued(listener: () => void): void {
    this.queuedListener = listener;
  }

  /** Call after the transaction that queued mail has committed: before, the worker sees nothing. */
  queued(): void {
    this.queuedListener();
  }

  /**
   * Locks (creating it if needed) the row of one recipient address until the caller's transaction
   * ends, so sends to that address from several users queue up and the per-address count read
   * after it is exact. The row is written, not only read: on Galera only a write is certified.
   */
  async lockRecipient(tx: EntityManager, recipientKey: string): Promise<void> {
    await tx
      .createQueryBuilder()
      .insert()
      .into(MailRecipientEntity)
      .values({ recipientKey, lastQueuedAt: this.clock.now() })
      .orUpdate(["last_queued_at"], ["recipient_key"])
      .updateEntity(false)
      .execute();
  }

  /** Queues a link mail in the caller's transaction; it is due at once. Returns the outbox row ID. */
  enqueue(tx: EntityManager, mail: NewMail): Promise<string> {
    const { codeId, link, codeExpiresAt, ...addressee } = mail;
    return this.insert(tx, addressee, (id) => ({
      kind: "PASSKEY_LINK",
      codeId,
      linkCiphertext: seal(this.keys.outboxKey, link, id),
      variables: null,
      codeExpiresAt,
    }));
  }

  /** Queues the notice that a passkey was stored; it is given up after `giveUpAfterSeconds`. */
  enqueuePasskeyNotice(
    tx: EntityManager,
    notice: NewPasskeyNotice,
    giveUpAfterSeconds: number,
  ): Promise<string> {
    const { passkeyName, addedAt, ...addressee } = notice;
    const variables: PasskeyNoticeVariables = { passkeyName, addedAt: addedAt.toISOString() };
    return this.insertNotice(tx, "PASSKEY_ADDED", addressee, variables, giveUpAfterSeconds);
  }

  /** Queues the notice that a passkey was removed; given up after `giveUpAfterSeconds`. */
  enqueuePasskeyRemovedNotice(
    tx: EntityManager,
    notice: NewPasskeyRemovedNotice,
    giveUpAfterSeconds: number,
  ): Promise<string> {
    const { passkeyName, removedAt, ...addressee } = notice;
    const variables: PasskeyRemovedNoticeVariables = {
      passkeyName,
      removedAt: removedAt.toISOString(),
    };
    return this.insertNotice(tx, "PASSKEY_REMOVED", addressee, variables, giveUpAfterSeconds);
  }

  /** Queues the notice that a passkey may have been copied; given up after `giveUpAfterSeconds`. */
  enqueuePasskeyCloneNotice(
    tx: EntityManager,
    notice: NewPasskeyCloneNotice,
    giveUpAfterSeconds: number,
  ): Promise<string> {
    const { passkeyName, provider, detectedAt, ...addressee } = notice;
    const variables: PasskeyCloneNoticeVariables = {
      passkeyName,
      provider,
      detectedAt: detectedAt.toISOString(),
    };
    return this.insertNotice(tx, "PASSKEY_CLONE", addressee, variables, giveUpAfterSeconds);
  }

  /** A notice row: no code, no link, its template values as JSON; given up after the deadline. */
  private insertNotice(
    tx: EntityManager,
    kind: Exclude<MailKind, "PASSKEY_LINK">,
    addressee: Addressee,
    variables: PasskeyNoticeVariables | PasskeyRemovedNoticeVariables | PasskeyCloneNoticeVariables,
    giveUpAfterSeconds: number,
  ): Promise<string> {
    return this.insert(tx, addressee, () => ({
      kind,
      codeId: null,
      linkCiphertext: null,
      variables: JSON.stringify(variables),
      codeExpiresAt: new Date(this.clock.now().getTime() + giveUpAfterSeconds * 1000),
    }));
  }

  private async insert(
    tx: EntityManager,
    addressee: Addressee,
    content: (
      id: string,
    ) => Pick<
      OutboxMessageEntity,
      "kind" | "codeId" | "linkCiphertext" | "variables" | "codeExpiresAt"
    >,
  ): Promise<string> {
    const id = this.ids.next();
    const now = this.clock.now();
    await tx
      .createQueryBuilder()
      .insert()
      .into(OutboxMessageEntity)
      .values({
        id,
        ...addressee,
        ...content(id),
        shard: shardOf(addressee.userId),
        recipientKey: recipientKey(addressee.recipient),
        messageId: `<${id}@${this.messageIdDomain}>`,
        state: "QUEUED",
        attempts: 0,
        nextAttemptAt: now,
        claimToken: null,
        lastError: null,
        createdAt: now,
        sentAt: null,
      })
      .updateEntity(false)
      .execute();
    return id;
  }

  /** Queued mails and the age of the oldest, for the outbox gauges. */
  async backlog(): Promise<OutboxBacklog> {
    return this.db.read(async (db) => {
      const queued = () =>
        db.createQueryBuilder(OutboxMessageEntity, "o").where("o.state = :state", {
          state: "QUEUED",
        });
      const pending = await queued().getCount();
      const oldest = pending > 0 ? await queued().orderBy("o.createdAt", "ASC").getOne() : null;
      const ageMs = oldest ? this.clock.now().getTime() - oldest.createdAt.getTime() : 0;
      return { pending, oldestAgeSeconds: Math.max(0, ageMs / 1000) };
    });
  }

  /** The link of a claimed mail; throws when the ciphertext does not open (e.g. another key). */
  openLink(mail: OutboxMessageEntity): string {
    if (mail.linkCiphertext === null) throw new Error("the outbox row holds no link");
    return unseal(this.keys.outboxKey, mail.linkCiphertext, mail.id);
  }

  /**
   * Claims up to `limit` due rows for `leaseMs`: their `nextAttemptAt` moves past the lease, so
   * other workers skip them, and a crashed worker's rows become due again when it runs out.
   * `shards` (undefined: all) confines the claim to the worker's partitions (see OutboxShards).
   * MySQL/MariaDB lock the candidates with FOR UPDATE SKIP LOCKED, so concurrent workers on one
   * server pick disjoint rows without waiting; SQLite claims in one UPDATE under its single-writer
   * lock. The claim is one retried transaction; a retry claims afresh, under the same token.
   */
  async claimDue(
    limit: number,
    leaseMs: number,
    shards?: readonly number[],
  ): Promise<ClaimedMail[]> {
    if (shards?.length === 0) return [];
    const token = this.ids.next();
    const now = this.clock.now();
    const until = new Date(now.getTime() + leaseMs);
    const { sql } = this;
    const due = [sql.names.value("state", "QUEUED"), sql.names.value("nextAttemptAt", now)];
    // READ COMMITTED on MySQL/MariaDB: under REPEATABLE READ the claim's scans also lock the gaps
    // between rows, and a request enqueueing a mail into such a gap deadlocks with it. Batched:
    // the locking read goes out with START TRANSACTION, the claim's UPDATE with COMMIT.
    const claimed = await this.db.transaction(
      async (tx) => {
        if (this.db.dialect === "mysql") {
          // The whole rows, locked: the claim only changes what it sets below, so no second
          // read is needed to hand them to the worker.
          const rows = await sql.due.all(
            tx,
            [...due, ...(shards ?? []), limit],
            sql.dueSuffix(shards?.length),
          );
          if (rows.length === 0) return [];
          await this.db.defer(tx, sql.markClaimed(rows.length), [
            token,
            sql.names.value("nextAttemptAt", until),
            sql.names.value("state", "QUEUED"),
            ...rows.map((row) => row.id),
          ]);
          for (const row of rows) {
            Object.assign(row, {
              claimToken: token,
              nextAttemptAt: until,
              attempts: row.attempts + 1,
            });
          }
          return rows;
        }
        // SQLite: one UPDATE under its single-writer lock, then the rows it claimed.
        await this.db.execute(tx, sql.markDue(shards?.length), [
          token,
          sql.names.value("nextAttemptAt", until),
          sql.names.value("state", "QUEUED"),
          ...due,
          ...(shards ?? []),
          limit,
        ]);
        return sql.byToken.all(tx, [token]);
      },
      { isolation: "READ COMMITTED", batched: true },
    );
    return claimed as ClaimedMail[];
  }

  /**
   * Extends the claim on the rows of one batch that `token` still holds by `leaseMs` from now, so
   * a send that takes longer than the lease is never taken over (and sent again) by another
   * worker. Resolves to how many rows are still held. By primary key: claim_token has no index.
   */
  async renewClaim(ids: readonly string[], token: string, leaseMs: number): Promise<number> {
    if (ids.length === 0) return 0;
    const until = new Date(this.clock.now().getTime() + leaseMs);
    return this.db.transaction(async (tx) => {
      const result = await tx
        .createQueryBuilder()
        .update(OutboxMessageEntity)
        .set({ nextAttemptAt: until })
        .where({ id: In([...ids]) })
        .andWhere("claimToken = :token AND state = :queued", { token, queued: "QUEUED" })
        .execute();
      return result.affected ?? 0;
    }, "READ COMMITTED");
  }

  /**
   * Records the outcomes of one claimed batch, in the caller's transaction: sent rows in one
   * statement, the rare retries and failures one by one. Sent and failed rows lose their
   * ciphertext. Rows whose claim was lost (the lease ran out and another worker took them, or the
   * code was ended meanwhile) are left alone; the returned set names the rows that were recorded.
   * The batch's rows are locked by primary key, so the lock covers those rows only: other workers
   * keep claiming and requests keep enqueueing while the transaction is open. Every locked row is
   * written, so on Galera a concurrent change through another node conflicts at commit.
   */
  async recordBatch(
    tx: EntityManager,
    token: string,
    results: readonly { mail: ClaimedMail; outcome: Outcome }[],
  ): Promise<Set<string>> {
    if (results.length === 0) return new Set();
    // A row cancelled while it was being sent keeps the claim: a mail that went out is recorded
    // as sent (what happened), one that did not stays cancelled.
    const { sql } = this;
    const stillHeld = await sql.held.all(
      tx,
      [
        token,
        sql.names.value("state", "QUEUED"),
        sql.names.value("state", "FAILED"),
        ...results.map(({ mail }) => mail.id),
      ],
      sql.heldSuffix(results.length),
    );
    const states = new Map(stillHeld.map((row) => [row.id, row.state]));
    const held = new Set(
      results
        .filter(({ mail, outcome }) => {
          const state = states.get(mail.id);
          return state === "QUEUED" || (state === "FAILED" && outcome.kind === "sent");
        })
        .map(({ mail }) => mail.id),
    );
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

  /** Sets `changes` and ends the claim on rows `ids`; sent with the next exchange when batched. */
  private async update(tx: EntityManager, ids: string[], changes: Partial<OutboxMessageEntity>) {
    await this.sql.byIds.defer(tx, { ...changes, claimToken: null }, ids, placeholders(ids.length));
  }

  /** Deletes the rows of purged codes, in the caller's transaction. */
  async deleteOfCodes(tx: EntityManager, codeIds: string[]): Promise<void> {
    await tx
      .createQueryBuilder()
      .delete()
      .from(OutboxMessageEntity)
      .where({ codeId: In(codeIds) })
      .execute();
  }

  /**
   * Deletes up to `limit` notices (mails without a code) that were sent or given up before
   * `cutoff`; link mails go with their codes. Resolves to how many were deleted.
   */
  async purgeNotices(limit: number, cutoff: Date): Promise<number> {
    const deleted = await this.db.transaction((tx) =>
      this.db.deleteBatch(
        tx,
        OutboxMessageEntity,
        "e.kind <> :link AND e.state <> :queued AND e.createdAt < :cutoff",
        { link: "PASSKEY_LINK", queued: "QUEUED", cutoff },
        limit,
      ),
    );
    return deleted.length;
  }

  /**
   * Ends queued link mails of revoked codes (or of a disabled user) so they are never sent.
   * Security notices are never cancelled (SPEC 13): a lock must not hide that a passkey was added.
   * The claim token stays, so a worker sending the mail right now still records it as sent.
   */
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
        lastError: CANCELLED,
      })
      .where("state = :queued AND kind = :link", { queued: "QUEUED", link: "PASSKEY_LINK" })
      .andWhere(where)
      .execute();
  }
}

const CANCELLED = "cancelled: the code or the user was ended";

function truncate(message: string): string {
  return message.length > 500 ? `${message.slice(0, 497)}...` : message;
}

type Column = Extract<keyof OutboxMessageEntity, string>;

/** Every column of an outbox row: a claim hands whole rows to the worker. */
const ROW: readonly Column[] = [
  "id",
  "kind",
  "codeId",
  "variables",
  "userId",
  "organizationId",
  "shard",
  "recipient",
  "recipientKey",
  "displayName",
  "language",
  "linkCiphertext",
  "messageId",
  "state",
  "attempts",
  "nextAttemptAt",
  "claimToken",
  "lastError",
  "codeExpiresAt",
  "createdAt",
  "sentAt",
];

/**
 * The statements of the claim and of recording its outcomes, as fixed text with `?` placeholders
 * (compiled-sql.ts): they run once per batch, and TypeORM's query builders cost the drain more
 * CPU than the statements themselves. A text per length of its `IN` lists is kept.
 */
class OutboxSql {
  readonly names: EntitySql<OutboxMessageEntity>;
  /** Due rows, oldest first: WHERE state = ? AND next_attempt_at <= ?, then `dueSuffix`. */
  readonly due: CompiledSelect<OutboxMessageEntity, (typeof ROW)[number]>;
  /** The rows a claim token holds (SQLite's claim reads them back by it). */
  readonly byToken: CompiledSelect<OutboxMessageEntity, (typeof ROW)[number]>;
  /** Rows still held by a token, QUEUED or FAILED: WHERE claim_token = ? AND state IN (?, ?). */
  readonly held: CompiledSelect<OutboxMessageEntity, "id" | "state">;
  /** Rows by ID: WHERE id IN, with the list as the call's suffix. */
  readonly byIds: CompiledUpdate<OutboxMessageEntity>;
  private readonly dueWhere: string;
  private readonly markClaimedHead: string;
  private readonly texts = new Map<string, string>();

  constructor(private readonly db: Database) {
    const names = (this.names = new EntitySql(db, OutboxMessageEntity));
    this.dueWhere = `${names.column("state")} = ? AND ${names.column("nextAttemptAt")} <= ?`;
    this.due = new CompiledSelect(db, OutboxMessageEntity, ROW, () => `WHERE ${this.dueWhere}`);
    this.byToken = new CompiledSelect(
      db,
      OutboxMessageEntity,
      ROW,
      (column) => `WHERE ${column("claimToken")} = ?`,
    );
    this.held = new CompiledSelect(
      db,
      OutboxMessageEntity,
      ["id", "state"],
      (column) => `WHERE ${column("claimToken")} = ? AND ${column("state")} IN (?, ?)`,
    );
    this.byIds = new CompiledUpdate(db, OutboxMessageEntity, (column) => `${column("id")} IN `);
    this.markClaimedHead =
      `UPDATE ${names.table} SET ${names.column("claimToken")} = ?, ` +
      `${names.column("nextAttemptAt")} = ?, ${names.column("attempts")} = ${names.column("attempts")} + 1`;
  }

  /** The rest of the due query: the worker's shards, the order, the limit and (MySQL) the lock. */
  dueSuffix(shards: number | undefined, lock = " FOR UPDATE SKIP LOCKED"): string {
    return kept(this.texts, `due:${shards}:${lock}`, () => {
      const inShards =
        shards === undefined ? "" : ` AND ${this.names.column("shard")} IN ${placeholders(shards)}`;
      return `${inShards} ORDER BY ${this.names.column("nextAttemptAt")} ASC LIMIT ?${lock}`;
    });
  }

  /** Claims `rows` rows by ID, still QUEUED: token, lease end, state, then the IDs. */
  markClaimed(rows: number): string {
    return kept(
      this.texts,
      `mark:${rows}`,
      () =>
        `${this.markClaimedHead} WHERE ${this.names.column("state")} = ? AND ${this.names.column("id")} IN ${placeholders(rows)}`,
    );
  }

  /**
   * SQLite's claim, in one UPDATE: token, lease end, state, then the due query's parameters
   * (state, now, the shards, the limit).
   */
  markDue(shards: number | undefined): string {
    return kept(this.texts, `markDue:${shards}`, () => {
      const id = this.names.column("id");
      return (
        `${this.markClaimedHead} WHERE ${this.names.column("state")} = ? AND ${id} IN ` +
        `(SELECT ${id} FROM ${this.names.table} WHERE ${this.dueWhere}${this.dueSuffix(shards, "")})`
      );
    });
  }

  /** The rest of the held query: the batch's IDs, locked until the transaction ends (MySQL). */
  heldSuffix(rows: number): string {
    return kept(
      this.texts,
      `held:${rows}`,
      () =>
        ` AND ${this.names.column("id")} IN ${placeholders(rows)}${this.db.dialect === "mysql" ? " FOR UPDATE" : ""}`,
    );
  }
}
