// The outbox's partitions. Every mail belongs to the shard of its user; on a Galera cluster each
// live worker claims only in the shards it holds, because FOR UPDATE SKIP LOCKED sees only locks on
// its own node: without shards, every node's workers take the head of the queue and abort each
// other at commit (SPEC 17). Workers find each other through a heartbeat table.
import { randomUUID } from "node:crypto";
import { crc32 } from "node:zlib";
import type { Database } from "../db/database";

export const SHARD_COUNT = 64;

/** The shard of a user's mails: stable, and the same on every engine and in every process. */
export function shardOf(userId: string): number {
  return crc32(userId) % SHARD_COUNT;
}

/** How often a worker renews its heartbeat and recounts the workers. */
const REFRESH_MS = 1000;
/** A worker silent for this long is gone; its shards pass to the others. */
const ALIVE_MS = 5 * REFRESH_MS;

export class OutboxShards {
  private readonly workerId = randomUUID();
  private held: readonly number[] | undefined;
  private refreshedAt = Number.NEGATIVE_INFINITY;
  private registered = false;

  constructor(private readonly db: Database) {}

  /**
   * The shards this worker claims in: undefined (all of them) off Galera, where SKIP LOCKED
   * already spreads the workers; on Galera, every n-th shard, n being the number of live workers,
   * by the worker's rank among them. While workers come and go, two may briefly hold one shard;
   * their claims then conflict and are retried, never double-sent.
   */
  async current(): Promise<readonly number[] | undefined> {
    if (!this.db.galera) return undefined;
    if (Date.now() - this.refreshedAt < REFRESH_MS) return this.held;
    this.held = await this.db.transaction(async (tx) => {
      await this.db.query(
        tx,
        "INSERT INTO outbox_workers (id, seen_at) VALUES (?, NOW(3)) " +
          "ON DUPLICATE KEY UPDATE seen_at = NOW(3)",
        [this.workerId],
      );
      const alive = await this.db.query<{ id: string }[]>(
        tx,
        "SELECT id FROM outbox_workers WHERE seen_at > NOW(3) - INTERVAL ? SECOND ORDER BY id",
        [ALIVE_MS / 1000],
      );
      const rank = Math.max(
        0,
        alive.findIndex((worker) => worker.id === this.workerId),
      );
      if (rank === 0) {
        await this.db.query(
          tx,
          "DELETE FROM outbox_workers WHERE seen_at < NOW(3) - INTERVAL ? SECOND",
          [(10 * ALIVE_MS) / 1000],
        );
      }
      const count = Math.max(1, alive.length);
      return Array.from({ length: SHARD_COUNT }, (_, shard) => shard).filter(
        (shard) => shard % count === rank,
      );
    });
    this.registered = true;
    this.refreshedAt = Date.now();
    return this.held;
  }

  /** Hands this worker's shards over to the others at once (on a clean stop). */
  async leave(): Promise<void> {
    if (!this.registered) return;
    await this.db.transaction((tx) =>
      this.db.query(tx, "DELETE FROM outbox_workers WHERE id = ?", [this.workerId]),
    );
    this.registered = false;
  }
}
