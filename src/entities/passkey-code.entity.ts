// A passkey registration code: only its keyed hash is stored, never the code.
import { Column, Entity, Index, PrimaryColumn } from "typeorm";
import { idColumn, timestampColumn } from "./columns";

export type CodeMedium = "RETURNED" | "LINK" | "EMAIL";
/** EXPIRED is not stored: an ACTIVE code past `expiresAt` is expired. */
export type StoredCodeState = "ACTIVE" | "USED" | "REVOKED" | "LOCKED_OUT";

@Entity({ name: "passkey_codes" })
@Index("ix_passkey_codes_user_created", ["userId", "createdAt"])
@Index("ix_passkey_codes_expires", ["expiresAt"])
@Index("ix_passkey_codes_session", ["sessionId"])
export class PasskeyCodeEntity {
  @PrimaryColumn(idColumn("id"))
  id!: string;

  @Column(idColumn("user_id"))
  userId!: string;

  @Column(idColumn("organization_id"))
  organizationId!: string;

  /** HMAC-SHA-256 (hex) of the code under a key derived from MASTER_KEY. */
  @Column({ name: "code_hash", type: "varchar", length: 64 })
  codeHash!: string;

  @Column({ name: "medium", type: "varchar", length: 16 })
  medium!: CodeMedium;

  @Column({ name: "state", type: "varchar", length: 16 })
  state!: StoredCodeState;

  @Column({ name: "failed_checks", type: "integer", default: 0 })
  failedChecks!: number;

  @Column(idColumn("creator"))
  creator!: string;

  /** Whose authority it was minted under: see PersonalAccessTokenEntity.grantedBy. */
  @Column(idColumn("granted_by"))
  grantedBy!: string;

  /** The session that minted it for its own user (SPEC 18): signing out revokes it. */
  @Column(idColumn("session_id", { nullable: true }))
  sessionId!: string | null;

  @Column(timestampColumn("created_at"))
  createdAt!: Date;

  @Column(timestampColumn("expires_at"))
  expiresAt!: Date;

  @Column(timestampColumn("ended_at", { nullable: true }))
  endedAt!: Date | null;
}
