// Purges ended passkey codes past their retention, and long-closed passkey registrations, in
// bounded batches, on a timer in every process.

/** Rows per purge transaction: small enough not to hold locks long. */
const BATCH = 500;
const INTERVAL_MS = 3_600_000;

export type JobErrorLog = (error: unknown, message: string) => void;

export class CodeRetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    /** Each deletes at most `limit` rows and resolves to how many it deleted. */
    private readonly purges: readonly ((limit: number) => Promise<number>)[],
    private readonly logError: JobErrorLog,
  ) {}

  /** Runs once soon after start-up, then hourly; several processes purging at once is harmless. */
  start(): void {
    const tick = () => void this.runOnce().catch((e: unknown) => this.logError(e, "purge failed"));
    this.timer = setTimeout(() => {
      tick();
      this.timer = setInterval(tick, INTERVAL_MS).unref();
    }, 1000).unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /**
   * Purges batch after batch until one comes back short; resolves to the rows purged. A run in
   * progress (the timer's) is waited for first, so the caller's run sees the present clock.
   */
  async runOnce(): Promise<number> {
    while (this.running) await this.running.catch(() => undefined);
    const run = this.purgeAll();
    this.running = run;
    try {
      return await run;
    } finally {
      if (this.running === run) this.running = undefined;
    }
  }

  private async purgeAll(): Promise<number> {
    let total = 0;
    for (const purge of this.purges) {
      for (let purged = BATCH; purged === BATCH; total += purged) purged = await purge(BATCH);
    }
    return total;
  }
}
