// Sign-in budgets per client address and minute (SPEC 18), kept in the database so that every
// server process counts against the same numbers.
import { isIPv6 } from "node:net";
import type { EntityManager } from "typeorm";
import type { Database } from "../../db/database";
import { isUniqueViolation } from "../../db/database";
import type { SigninBudgetKind } from "../../entities/signin-budget.entity";
import { SigninBudgetEntity } from "../../entities/signin-budget.entity";
import { ApiError } from "../../errors";
import type { Clock } from "../../core/clock";
import { sha256Hex } from "./session-token";

const WINDOW_MS = 60_000;

/** How long budget rows are kept after their minute (they matter only within it). */
const KEPT_MS = 3_600_000;

export class SigninRateLimit {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly limits: Record<SigninBudgetKind, number>,
  ) {}

  /**
   * Spends one unit of `kind` for `address` in the current minute, or throws RESOURCE_EXHAUSTED
   * `SESSION-rate-limited` with the seconds until the next minute. No address (not over HTTP):
   * no limit.
   */
  async spend(tx: EntityManager, kind: SigninBudgetKind, address: string | undefined) {
    if (address === undefined) return;
    const key = { clientKey: clientKey(address), kind, windowStart: this.windowStart() };
    for (let attempt = 0; attempt < 2; attempt++) {
      const raised = await tx
        .createQueryBuilder()
        .update(SigninBudgetEntity)
        .set({ used: () => "used + 1" })
        .where("clientKey = :clientKey AND kind = :kind AND windowStart = :windowStart", key)
        .andWhere("used < :limit", { limit: this.limits[kind] })
        .execute();
      if (raised.affected === 1) return;
      if (await this.exists(tx, key)) throw this.exhausted(key.windowStart);
      try {
        await tx
          .createQueryBuilder()
          .insert()
          .into(SigninBudgetEntity)
          .values({ ...key, used: 1 })
          .execute();
        return;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
    }
    throw this.exhausted(key.windowStart);
  }

  /** Throws like `spend` when `address` has no failures left this minute; spends nothing. */
  async requireLeft(db: EntityManager, kind: SigninBudgetKind, address: string | undefined) {
    if (address === undefined) return;
    const windowStart = this.windowStart();
    const row = await db
      .createQueryBuilder(SigninBudgetEntity, "b")
      .select("b.used", "used")
      .where("b.clientKey = :clientKey AND b.kind = :kind AND b.windowStart = :windowStart", {
        clientKey: clientKey(address),
        kind,
        windowStart,
      })
      .getRawOne<{ used: number | string }>();
    if (row && Number(row.used) >= this.limits[kind]) throw this.exhausted(windowStart);
  }

  /** Counts one failure for `address`, beyond the limit too (the limit is judged up front). */
  async record(tx: EntityManager, kind: SigninBudgetKind, address: string | undefined) {
    if (address === undefined) return;
    try {
      await this.spend(tx, kind, address);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    }
  }

  /** Deletes up to `limit` budget rows of past windows. */
  async purge(limit: number): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - KEPT_MS);
    return this.db.transaction(async (tx) => {
      const rows = await tx
        .createQueryBuilder(SigninBudgetEntity, "b")
        .select(["b.clientKey", "b.kind", "b.windowStart"])
        .where("b.windowStart < :cutoff", { cutoff })
        .limit(limit)
        .getMany();
      for (const row of rows) {
        await tx
          .createQueryBuilder()
          .delete()
          .from(SigninBudgetEntity)
          .where("clientKey = :clientKey AND kind = :kind AND windowStart = :windowStart", row)
          .execute();
      }
      return rows.length;
    });
  }

  private async exists(
    tx: EntityManager,
    key: { clientKey: string; kind: string; windowStart: Date },
  ): Promise<boolean> {
    const count = await tx
      .createQueryBuilder(SigninBudgetEntity, "b")
      .where("b.clientKey = :clientKey AND b.kind = :kind AND b.windowStart = :windowStart", key)
      .getCount();
    return count > 0;
  }

  private windowStart(): Date {
    const now = this.clock.now().getTime();
    return new Date(now - (now % WINDOW_MS));
  }

  private exhausted(windowStart: Date): ApiError {
    return ApiError.resourceExhausted(
      "SESSION-rate-limited",
      "too many sign-in attempts from this address",
      new Date(windowStart.getTime() + WINDOW_MS),
      this.clock.now(),
    );
  }
}

/**
 * The address a budget counts by, hashed (no addresses in the table): IPv4 as is, IPv6 by its
 * /64 (one subscriber usually holds a whole /64), an IPv4-mapped IPv6 address as its IPv4.
 */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return sha256Hex(mapped[1]!);
  if (!isIPv6(address)) return sha256Hex(address);
  return sha256Hex(`${expandIPv6(address).slice(0, 4).join(":")}::/64`);
}

/** The eight 16-bit groups of an IPv6 address, without leading zeros. */
function expandIPv6(address: string): string[] {
  const [head = "", tail] = address.split("%")[0]!.toLowerCase().split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":"));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const middle = Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0");
  return [...left, ...middle, ...right].map((group) => Number.parseInt(group, 16).toString(16));
}
