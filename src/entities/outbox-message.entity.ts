// One queued email: written with its code in one transaction, delivered later by the worker.
import { Column, Entity, Index, PrimaryColumn } from "typeorm";
import { idColumn, timestampColumn } from "./columns";

export type DeliveryStateValue = "QUEUED" | "SENT" | "FAILED";
/**
 * PASSKEY_LINK carries a registration link; PASSKEY_ADDED, PASSKEY_REMOVED and PASSKEY_CLONE tell
 * the user a passkey was stored, ended or may have been copied (security notices: never cancelled
 * by a state change).
 */
export type MailKind = "PASSKEY_LINK" | "PASSKEY_ADDED" | "PASSKEY_REMOVED" | "PASSKEY_CLONE";

@Entity({ name: "mail_outbox" })
@Index("ix_mail_outbox_due", ["state", "nextAttemptAt"])
@Index("ix_mail_outbox_kind_created", ["kind", "createdAt"])
@Index("ix_mail_outbox_recipient", ["recipientKey", "createdAt"])
@Index("ix_mail_outbox_shard_due", ["state", "shard", "nextAttemptAt"])
export class OutboxMessageEntity {
  @PrimaryColumn(idColumn("id"))
  id!: string;

  @Column({ name: "kind", type: "varchar", length: 16, default: "PASSKEY_LINK" })
  kind!: MailKind;

  /** The code whose link this mail carries; NULL for notifications. */
  @Index("uq_mail_outbox_code", { unique: true })
  @Column(idColumn("code_id", { nullable: true }))
  codeId!: string | null;

  /** Template values of a notification as JSON (never a secret); NULL for link mails. */
  @Column({ name: "variables", type: "text", nullable: true })
  variables!: string | null;

  @Column(idColumn("user_id"))
  userId!: string;

  @Column(idColumn("organization_id"))
  organizationId!: string;

  /** `shardOf(userId)`: the outbox's partition; a worker claims only in the shards it holds. */
  @Column({ name: "shard", type: "smallint", default: 0 })
  shard!: number;

  @Column({ name: "recipient", type: "varchar", length: 320 })
  recipient!: string;

  /** The recipient's mailbox (`recipientKey()`): the per-address send limit counts by it. */
  @Column({ name: "recipient_key", type: "varchar", length: 320, nullable: true })
  recipientKey!: string | null;

  @Column({ name: "display_name", type: "varchar", length: 200 })
  displayName!: string;

  @Column({ name: "language", type: "varchar", length: 35, nullable: true })
  language!: string | null;

  /** The link, AES-256-GCM encrypted (base64 of iv | tag | ciphertext); NULL once sent or given up. */
  @Column({ name: "link_ciphertext", type: "text", nullable: true })
  linkCiphertext!: string | null;

  /** Kept for every retry, so receivers can recognise a repeated delivery. */
  @Column({ name: "message_id", type: "varchar", length: 255 })
  messageId!: string;

  @Column({ name: "state", type: "varchar", length: 16 })
  state!: DeliveryStateValue;

  @Column({ name: "attempts", type: "integer", default: 0 })
  attempts!: number;

  /** When the row is next due; a claim pushes it forward by the lease, so a crashed sender's rows come back. */
  @Column(timestampColumn("next_attempt_at"))
  nextAttemptAt!: Date;

  @Column({ name: "claim_token", type: "varchar", length: 36, nullable: true })
  claimToken!: string | null;

  @Column({ name: "last_error", type: "varchar", length: 500, nullable: true })
  lastError!: string | null;

  /** After this the mail is pointless: the code's expiry, or a notification's give-up time. */
  @Column(timestampColumn("code_expires_at"))
  codeExpiresAt!: Date;

  @Column(timestampColumn("created_at"))
  createdAt!: Date;

  @Column(timestampColumn("sent_at", { nullable: true }))
  sentAt!: Date | null;
}
