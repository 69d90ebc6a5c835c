// Logs a failure that repeats on every poll (e.g. the database is down) without flooding the log:
// the first one in full, then at most one line per interval, and one line when it recovers.
import type { FastifyBaseLogger } from "fastify";

export class FailureLog {
  private inARow = 0;
  private suppressed = 0;
  private lastLoggedAt = 0;

  constructor(
    private readonly log: FastifyBaseLogger,
    private readonly message: string,
    private readonly intervalMs = 60_000,
  ) {}

  failed(error: unknown): void {
    this.inARow += 1;
    const now = Date.now();
    if (this.inARow > 1 && now - this.lastLoggedAt < this.intervalMs) {
      this.suppressed += 1;
      return;
    }
    this.log.error(
      { err: error, failuresInARow: this.inARow, suppressedSinceLast: this.suppressed },
      this.message,
    );
    this.lastLoggedAt = now;
    this.suppressed = 0;
  }

  succeeded(): void {
    if (this.inARow === 0) return;
    this.log.info({ failuresInARow: this.inARow }, `${this.message}: recovered`);
    this.inARow = 0;
    this.suppressed = 0;
  }
}
