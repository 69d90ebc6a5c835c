// One row per recipient address: the lock that makes the per-address send limit exact when users
// sharing an address are sent links at the same moment (their own row locks do not meet).
import { Column, Entity, PrimaryColumn } from "typeorm";
import { timestampColumn } from "./columns";

@Entity({ name: "mail_recipients" })
export class MailRecipientEntity {
  /** The mailbox's `recipientKey()`, as `mail_outbox.recipient_key`. */
  @PrimaryColumn({ name: "recipient_key", type: "varchar", length: 320 })
  recipientKey!: string;

  /** Written on every send, so the row is locked, and on Galera certified, each time. */
  @Column(timestampColumn("last_queued_at"))
  lastQueuedAt!: Date;
}
