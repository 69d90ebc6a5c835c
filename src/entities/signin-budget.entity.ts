// Sign-in attempts per client address and minute (SPEC 18), shared by every server process.
import { Column, Entity, Index, PrimaryColumn } from "typeorm";
import { timestampColumn } from "./columns";

export type SigninBudgetKind = "attempt" | "failure";

@Entity({ name: "signin_budgets" })
@Index("ix_signin_budgets_window", ["windowStart"])
export class SigninBudgetEntity {
  /** SHA-256 (hex) of the client address, an IPv6 one cut to its /64. */
  @PrimaryColumn({ name: "client_key", type: "varchar", length: 64 })
  clientKey!: string;

  @PrimaryColumn({ name: "kind", type: "varchar", length: 16 })
  kind!: SigninBudgetKind;

  @PrimaryColumn(timestampColumn("window_start"))
  windowStart!: Date;

  @Column({ name: "used", type: "integer", default: 0 })
  used!: number;
}
