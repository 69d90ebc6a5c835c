// A personal access token: only its SHA-256 is kept; the token itself is shown once.
import { Column, Entity, Index, PrimaryColumn } from "typeorm";
import { idColumn, timestampColumn } from "./columns";

@Entity({ name: "personal_access_tokens" })
@Index("ix_pat_user", ["userId"])
export class PersonalAccessTokenEntity {
  @PrimaryColumn(idColumn("id"))
  id!: string;

  @Column(idColumn("user_id"))
  userId!: string;

  @Index("uq_pat_hash", { unique: true })
  @Column({ name: "token_hash", type: "varchar", length: 64 })
  tokenHash!: string;

  @Column(timestampColumn("expires_at", { nullable: true }))
  expiresAt!: Date | null;

  /** Who minted it: the user itself, or an administrator (SPEC 13). */
  @Column(idColumn("created_by"))
  createdBy!: string;

  /**
   * Whose authority it was minted under (SPEC 13): `createdBy`, except when a user mints for
   * itself, then its calling token's. Promotions end it when this user cannot grant the role.
   */
  @Column(idColumn("granted_by"))
  grantedBy!: string;

  /** The token the caller minted it with (null: bootstrap); removing that one ends this one. */
  @Index("ix_pat_minted_with")
  @Column(idColumn("minted_with", { nullable: true }))
  mintedWith!: string | null;

  @Column(timestampColumn("created_at"))
  createdAt!: Date;
}
