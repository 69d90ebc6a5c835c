// One queued email: written with its code in one transaction, delivered later by the worker.
import { Column, Entity, Index, PrimaryColumn } from "typeorm";
import { idColumn, timestampColumn } from "./columns";

export type DeliveryStateValue = "QUEUED" | "SENT" | "FAILED";

@Entity({ name: "mail_outbox" })
@Index("ix_mail_outbox_due", ["state", "nextAttemptAt"])
export class OutboxMessageEntity {
  @PrimaryColumn(idColumn("id"))
  id!: string;

  @Index("uq_mail_outbox_code", { unique: true })
  @Column(idColumn("code_id"))
  codeId!: string;

  @Column(idColumn("user_id"))
  userId!: string;

  @Column(idColumn("organization_id"))
  organizationId!: string;

  @Column({ name: "recipient", type: "varchar", length: 320 })
  recipient!: string;

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

  @Column(timestampColumn("code_expires_at"))
  codeExpiresAt!: Date;

  @Column(timestampColumn("created_at"))
  createdAt!: Date;

  @Column(timestampColumn("sent_at", { nullable: true }))
  sentAt!: Date | null;
}
