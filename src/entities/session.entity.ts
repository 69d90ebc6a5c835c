// A sign-in session (SPEC 18, ZITADEL session v2); also the "session" event aggregate. Only the
// token's SHA-256 is stored.
import { Column, Entity, Index, PrimaryColumn } from "typeorm";
import { bigintAsNumber, idColumn, timestampColumn } from "./columns";

@Entity({ name: "sessions" })
@Index("ix_sessions_user", ["userId", "createdAt"])
export class SessionEntity {
  @PrimaryColumn(idColumn("id"))
  id!: string;

  /** The bound user: set by a verified assertion (or by a session.write holder's user check). */
  @Column(idColumn("user_id", { nullable: true }))
  userId!: string | null;

  /** The bound user's organization, else the organization the session was created in. */
  @Column(idColumn("organization_id"))
  organizationId!: string;

  @Index("uq_sessions_token", { unique: true })
  @Column({ name: "token_hash", type: "varchar", length: 64 })
  tokenHash!: string;

  /** Username-first by ID, kept unresolved for callers without session.write. */
  @Column(idColumn("check_user_id", { nullable: true }))
  checkUserId!: string | null;

  /** Username-first by login name (lower-cased, in `organizationId`), kept unresolved. */
  @Column({ name: "login_name_key", type: "varchar", length: 200, nullable: true })
  loginNameKey!: string | null;

  @Column(timestampColumn("user_checked_at", { nullable: true }))
  userCheckedAt!: Date | null;

  /** The passkey of the latest successful check. */
  @Column(idColumn("passkey_id", { nullable: true }))
  passkeyId!: string | null;

  /** That passkey's authority (SPEC 13): what the session mints records it. */
  @Column(idColumn("granted_by", { nullable: true }))
  grantedBy!: string | null;

  @Column(timestampColumn("webauthn_checked_at", { nullable: true }))
  webauthnCheckedAt!: Date | null;

  @Column({ name: "user_verified", type: "boolean", default: false })
  userVerified!: boolean;

  @Column({ name: "failed_checks", type: "integer", default: 0 })
  failedChecks!: number;

  @Column({ name: "sequence", type: "bigint", default: 0, transformer: bigintAsNumber })
  sequence!: number;

  @Column(timestampColumn("created_at"))
  createdAt!: Date;

  @Column(timestampColumn("changed_at"))
  changedAt!: Date;

  /** creationDate + lifetime. */
  @Index("ix_sessions_expires")
  @Column(timestampColumn("expires_at"))
  expiresAt!: Date;

  /** Until its first successful check a session lives only as long as its latest challenge. */
  @Column(timestampColumn("pending_until"))
  pendingUntil!: Date;

  @Column(timestampColumn("terminated_at", { nullable: true }))
  terminatedAt!: Date | null;
}
