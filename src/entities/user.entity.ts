// Persistence shape of a user (human or machine); also the "user" event aggregate.
import { Column, Entity, Index } from "typeorm";
import { AggregateRoot } from "./aggregate-root";
import { idColumn } from "./columns";

export type UserType = "HUMAN" | "MACHINE";
/** REMOVED is internal: removed users answer NOT_FOUND and never show in the API. */
export type UserStateValue = "ACTIVE" | "INACTIVE" | "LOCKED" | "REMOVED";

@Entity({ name: "users" })
@Index("uq_users_org_username", ["organizationId", "usernameKey"], { unique: true })
export class UserEntity extends AggregateRoot {
  @Column(idColumn("organization_id"))
  organizationId!: string;

  @Column({ name: "type", type: "varchar", length: 16 })
  type!: UserType;

  @Column({ name: "state", type: "varchar", length: 16 })
  state!: UserStateValue;

  @Column({ name: "username", type: "varchar", length: 200 })
  username!: string;

  /**
   * The username's comparison key (`usernameKey()`: NFKC and case folding, RFC 8265) while the user
   * exists, NULL once removed (frees the name). utf8mb4_bin on MariaDB/MySQL (migration
   * 1764600000000), so the unique index compares it exactly, as SQLite does.
   */
  @Column({ name: "username_key", type: "varchar", length: 200, nullable: true })
  usernameKey!: string | null;

  @Column({ name: "email", type: "varchar", length: 320, nullable: true })
  email!: string | null;

  @Column({ name: "email_verified", type: "boolean", default: false })
  emailVerified!: boolean;

  @Column({ name: "given_name", type: "varchar", length: 200, nullable: true })
  givenName!: string | null;

  @Column({ name: "family_name", type: "varchar", length: 200, nullable: true })
  familyName!: string | null;

  @Column({ name: "display_name", type: "varchar", length: 200 })
  displayName!: string;

  @Column({ name: "preferred_language", type: "varchar", length: 35, nullable: true })
  preferredLanguage!: string | null;
}
