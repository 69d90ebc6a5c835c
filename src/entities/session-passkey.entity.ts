// Which passkeys verified a session at any check of its life: removing one ends the session.
import { Entity, Index, PrimaryColumn } from "typeorm";
import { idColumn } from "./columns";

@Entity({ name: "session_passkeys" })
@Index("ix_session_passkeys_passkey", ["passkeyId"])
export class SessionPasskeyEntity {
  @PrimaryColumn(idColumn("session_id"))
  sessionId!: string;

  @PrimaryColumn(idColumn("passkey_id"))
  passkeyId!: string;
}
