// Issue 18's credential hardening: a token records the token it was minted with (removing that one
// ends it), and pending registration challenges are kept only as SHA-256, so a reader of the table
// cannot finish someone else's ceremony. Challenges stored before are hashed here.
import { createHash } from "node:crypto";
import type { MigrationInterface, QueryRunner } from "typeorm";
import { TableColumn, TableIndex } from "typeorm";
import { id } from "./columns";

export class CredentialHardening1764500000000 implements MigrationInterface {
  name = "CredentialHardening1764500000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      "personal_access_tokens",
      new TableColumn(id("minted_with", { isNullable: true })),
    );
    await queryRunner.createIndex(
      "personal_access_tokens",
      new TableIndex({ name: "ix_pat_minted_with", columnNames: ["minted_with"] }),
    );
    // Frozen here on purpose: SHA-256 (hex) of the base64url challenge, as the relying party checks it.
    const rows = (await queryRunner.query("SELECT id, challenge FROM passkey_registrations")) as {
      id: string;
      challenge: string;
    }[];
    for (const row of rows) {
      const hashed = createHash("sha256").update(row.challenge, "utf8").digest("hex");
      await queryRunner.query("UPDATE passkey_registrations SET challenge = ? WHERE id = ?", [
        hashed,
        row.id,
      ]);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Hashed challenges cannot be restored: pending registrations are ended instead.
    await queryRunner.query(
      "UPDATE passkey_registrations SET state = 'ENDED' WHERE state = 'PENDING'",
    );
    await queryRunner.dropIndex("personal_access_tokens", "ix_pat_minted_with");
    await queryRunner.dropColumn("personal_access_tokens", "minted_with");
  }
}
