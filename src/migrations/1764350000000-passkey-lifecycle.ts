// What a stored passkey carries once it signs its user in (SPEC 13, 18): the authority it was
// registered under, whether it may sync (backup eligibility, stored at registration), when it was
// last used, and a suspected-clone flag with the time its owner was last told about it.
import type { MigrationInterface, QueryRunner } from "typeorm";
import { TableColumn } from "typeorm";
import { id, timestamp } from "./columns";

export class PasskeyLifecycle1764350000000 implements MigrationInterface {
  name = "PasskeyLifecycle1764350000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns("passkeys", [
      new TableColumn(id("granted_by", { isNullable: true })),
      new TableColumn({ name: "backup_eligible", type: "boolean", default: 0 }),
      new TableColumn(timestamp("last_used_at", { isNullable: true })),
      new TableColumn({ name: "clone_warning", type: "boolean", default: 0 }),
      new TableColumn(timestamp("clone_notified_at", { isNullable: true })),
    ]);
    // Passkeys stored before this column: a code's authority when a code opened the registration,
    // else the user's own (registered while signed in as itself).
    await queryRunner.query(
      `UPDATE passkeys SET granted_by = COALESCE(
         (SELECT c.granted_by FROM passkey_codes c WHERE c.id = passkeys.registered_with_code_id),
         user_id)`,
    );
    await queryRunner.changeColumn("passkeys", "granted_by", new TableColumn(id("granted_by")));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const column of [
      "clone_notified_at",
      "clone_warning",
      "last_used_at",
      "backup_eligible",
      "granted_by",
    ]) {
      await queryRunner.dropColumn("passkeys", column);
    }
  }
}
