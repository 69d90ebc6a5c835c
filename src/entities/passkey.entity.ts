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

  @Column(timestampColumn("created_at"))
  createdAt!: Date;
}
