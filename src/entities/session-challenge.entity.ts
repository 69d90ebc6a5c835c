// A webAuthN challenge of a session: only its SHA-256 is stored; the first check consumes it.
import { Column, Entity, Index, PrimaryColumn } from "typeorm";
import { idColumn, timestampColumn } from "./columns";

@Entity({ name: "session_challenges" })
@Index("ix_session_challenges_session", ["sessionId", "consumedAt"])
export class SessionChallengeEntity {
  @PrimaryColumn(idColumn("id"))
  id!: string;

  @Column(idColumn("session_id"))
  sessionId!: string;

  @Column({ name: "challenge_hash", type: "varchar", length: 64 })
  challengeHash!: string;

  @Column(timestampColumn("created_at"))
  createdAt!: Date;

  @Index("ix_session_challenges_expires")
  @Column(timestampColumn("expires_at"))
  expiresAt!: Date;

  @Column(timestampColumn("consumed_at", { nullable: true }))
  consumedAt!: Date | null;
}
