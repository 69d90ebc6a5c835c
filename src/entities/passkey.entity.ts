// A stored passkey (WebAuthn credential): the public key and what verification reported, never a secret.
import { Column, Entity, Index, PrimaryColumn } from "typeorm";
import { bigintAsNumber, idColumn, timestampColumn } from "./columns";

@Entity({ name: "passkeys" })
@Index("ix_passkeys_user", ["userId"])
export class PasskeyEntity {
  /** The passkeyId of the registration that stored it. */
  @PrimaryColumn(idColumn("id"))
  id!: string;

  @Column(idColumn("user_id"))
  userId!: string;

  @Column(idColumn("organization_id"))
  organizationId!: string;

  /** The credential ID, base64url (up to 1023 bytes, so too long for a portable unique index). */
  @Column({ name: "credential_id", type: "text" })
  credentialId!: string;

  /** SHA-256 (hex) of the base64url credential ID: unique across all users. */
  @Index("uq_passkeys_credential", { unique: true })
  @Column({ name: "credential_hash", type: "varchar", length: 64 })
  credentialHash!: string;

  /** COSE public key, base64url. */
  @Column({ name: "public_key", type: "text" })
  publicKey!: string;

  @Column({ name: "sign_count", type: "bigint", default: 0, transformer: bigintAsNumber })
  signCount!: number;

  /** JSON array of the transports the browser reported, e.g. ["internal","hybrid"]. */
  @Column({ name: "transports", type: "varchar", length: 200, nullable: true })
  transports!: string | null;

  @Column({ name: "aaguid", type: "varchar", length: 36 })
  aaguid!: string;

  @Column({ name: "backed_up", type: "boolean", default: false })
  backedUp!: boolean;

  @Column({ name: "name", type: "varchar", length: 200 })
  name!: string;

  @Column(idColumn("registered_with_code_id", { nullable: true }))
  registeredWithCodeId!: string | null;

  /**
   * The authority the passkey was registered under (SPEC 13): the code's `granted_by`, or the
   * calling credential's when the user registered it itself.
   */
  @Column(idColumn("granted_by"))
  grantedBy!: string;

  /** The authenticator said the credential may be synced (BE flag), as stored at registration. */
  @Column({ name: "backup_eligible", type: "boolean", default: false })
  backupEligible!: boolean;

  @Column(timestampColumn("last_used_at", { nullable: true }))
  lastUsedAt!: Date | null;

  /** A sign-in presented a counter that did not rise: a suspected clone (SPEC 18). */
  @Column({ name: "clone_warning", type: "boolean", default: false })
  cloneWarning!: boolean;

  /** When the owner was last mailed about a suspected clone (at most one notice a day). */
  @Column(timestampColumn("clone_notified_at", { nullable: true }))
  cloneNotifiedAt!: Date | null;

  @Column(timestampColumn("created_at"))
  createdAt!: Date;
}
