// Sign-in budgets per client address and minute (SPEC 18), kept in the database so that every
// server process counts against the same numbers.
import { isIPv6 } from "node:net";
import type { EntityManager } from "typeorm";
import { CompiledInsertIfAbsent, EntitySql } from "../../db/compiled-sql";
import type { Database } from "../../db/database";
import type { SigninBudgetKind } from "../../entities/signin-budget.entity";
import { SigninBudgetEntity } from "../../entities/signin-budget.entity";
import { ApiError } from "../../errors";
import type { Clock } from "../../core/clock";
import { sha256Hex } from "./session-token";

const WINDOW_MS = 60_000;

/** How long budget rows are kept after their minute (they matter only within it). */
const KEPT_MS = 3_600_000;

/** One address's budget row of this minute, for a statement that reads it along (`requireLeftOf`). */
export interface BudgetProbe {
  kind: SigninBudgetKind;
  windowStart: Date;
  /** The row's key as the statement's parameters: client key, kind, window start. */
  params: unknown[];
}

export class SigninRateLimit {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly limits: Record<SigninBudgetKind, number>,
  ) {}

  private readonly names = new EntitySql(this.db, SigninBudgetEntity);
  /** Spends one unit of a budget row that has one left. */
  private readonly raise = (() => {
    const column = (property: keyof SigninBudgetEntity) => this.names.column(property);
    return `UPDATE ${this.names.table} SET ${column("used")} = ${column("used")} + 1 WHERE ${column("clientKey")} = ? AND ${column("kind")} = ? AND ${column("windowStart")} = ? AND ${column("used")} < ?`;
  })();
  /** The minute's first unit (nothing when another request added the row first). */
  private readonly open = new CompiledInsertIfAbsent(this.db, SigninBudgetEntity, [
    "clientKey",
    "kind",
    "windowStart",
    "used",
  ]);

  /**
   * Spends one unit of `kind` for `address` in the current minute, or throws RESOURCE_EXHAUSTED
   * `SESSION-rate-limited` with the seconds until the next minute. No address (not over HTTP):
   * no limit.
   */
  async spend(tx: EntityManager, kind: SigninBudgetKind, address: string | undefined) {
    if (address === undefined) return;
    const windowStart = this.windowStart();
    const key = [clientKey(address), kind, this.names.value("windowStart", windowStart)];
    // The row of this minute with a unit left; else add it; else it was added meanwhile (by
    // another request, between the two statements) or is spent: the second UPDATE tells.
    if ((await this.db.execute(tx, this.raise, [...key, this.limits[kind]])) === 1) return;
    if (await this.open.run(tx, { clientKey: key[0] as string, kind, windowStart, used: 1 }))
      return;
    if ((await this.db.execute(tx, this.raise, [...key, this.limits[kind]])) === 1) return;
    throw this.exhausted(windowStart);
  }

  /**
   * The key of `address`'s `kind` row of this minute, for a statement that reads the row's
   * `used` along with its own work; null without an address (no limit).
   */
  probe(kind: SigninBudgetKind, address: string | undefined): BudgetProbe | null {
    if (address === undefined) return null;
    const windowStart = this.windowStart();
    return {
      kind,
      windowStart,
      params: [clientKey(address), kind, this.names.value("windowStart", windowStart)],
    };
  }

  /**
   * Throws like `spend` when the probed address has no units of the probe's kind left this
   * minute; spends nothing. `used`: the row's `used`, read by the caller's statement (null: no
   * row yet).
   */
  requireLeftOf(probe: BudgetProbe, used: number | null): void {
    if (used !== null && used >= this.limits[probe.kind]) throw this.exhausted(probe.windowStart);
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
