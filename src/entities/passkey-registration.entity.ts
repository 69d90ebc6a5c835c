// A pending passkey registration: the challenge handed to the browser, bound to the code that opened it.
import { Column, Entity, Index, PrimaryColumn } from "typeorm";
import { idColumn, timestampColumn } from "./columns";

/** PENDING until verified once (VERIFIED) or ended by a failed verification, a newer one or the user's state (ENDED). */
export type RegistrationState = "PENDING" | "VERIFIED" | "ENDED";

@Entity({ name: "passkey_registrations" })
@Index("ix_passkey_registrations_user", ["userId", "state"])
@Index("ix_passkey_registrations_code", ["codeId"])
export class PasskeyRegistrationEntity {
  /** The passkeyId the client verifies with; also the stored passkey's ID. */
  @PrimaryColumn(idColumn("id"))
  id!: string;

  @Column(idColumn("user_id"))
  userId!: string;

  @Column(idColumn("organization_id"))
  organizationId!: string;

  /** The code that authorised it; NULL when the signed-in user opened it for itself. */
  @Column(idColumn("code_id", { nullable: true }))
  codeId!: string | null;

  /** base64url of at least 32 random bytes; checked inside the signed clientDataJSON. */
  @Column({ name: "challenge", type: "varchar", length: 128 })
  challenge!: string;

  @Column({ name: "state", type: "varchar", length: 16 })
  state!: RegistrationState;

  @Column(timestampColumn("created_at"))
  createdAt!: Date;

  @Column(timestampColumn("expires_at"))
  expiresAt!: Date;

  @Column(timestampColumn("ended_at", { nullable: true }))
  endedAt!: Date | null;
}
