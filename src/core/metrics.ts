// Prometheus metrics (SPEC 16). One registry per app, so several apps in one process (the tests)
// never share counters; services get this object from the composition root.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type IssuedMedium = "RETURNED" | "LINK" | "EMAIL";
export type DeliveryOutcome = "sent" | "retried" | "failed";
export type SignInOutcome = "success" | "failed" | "clone";

/** What the outbox gauges read at scrape time. */
export interface OutboxBacklog {
  pending: number;
  /** Age of the oldest queued mail in seconds; 0 when nothing is queued. */
  oldestAgeSeconds: number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  private readonly requestDuration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request duration, by method, route pattern and status code.",
    labelNames: ["method", "route", "status_code"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly codesIssued = new Counter({
    name: "passkey_codes_issued_total",
    help: "Passkey registration codes issued, by medium (RETURNED, LINK, EMAIL).",
    labelNames: ["medium"] as const,
    registers: [this.registry],
  });
  private readonly passkeysRegistered = new Counter({
    name: "passkeys_registered_total",
    help: "Passkeys stored after a verified registration.",
    registers: [this.registry],
  });
  private readonly mailDeliveries = new Counter({
    name: "mail_deliveries_total",
    help: "Mail delivery attempts, by outcome (sent, retried, failed).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  private readonly sessionsCreated = new Counter({
    name: "sessions_created_total",
    help: "Sessions created (createSession), verified or not.",
    registers: [this.registry],
  });
  private readonly passkeySignIns = new Counter({
    name: "passkey_signins_total",
    help: "Passkey checks on sessions, by outcome (success, failed, clone).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  private backlog: () => Promise<OutboxBacklog> = () =>
    Promise.resolve({ pending: 0, oldestAgeSeconds: 0 });
  private backlogRead: Promise<OutboxBacklog> | undefined;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Every label value from the first scrape, so dashboards and alerts see zeros, not gaps.
    for (const outcome of ["success", "failed", "clone"] as const) {
      this.passkeySignIns.inc({ outcome }, 0);
    }
    // Both gauges are read from the shared outbox table when scraped, so every process reports
    // the same backlog whichever process queued the mail; one query serves both gauges.
    const pending: Gauge = new Gauge({
      name: "outbox_pending_messages",
      help: "Mails queued in the outbox and not yet sent or given up.",
      registers: [this.registry],
      collect: async () => pending.set((await this.readBacklog()).pending),
    });
    const oldestAge: Gauge = new Gauge({
      name: "outbox_oldest_pending_age_seconds",
      help: "Age of the oldest mail still queued in the outbox, in seconds (0 when none).",
      registers: [this.registry],
      collect: async () => oldestAge.set((await this.readBacklog()).oldestAgeSeconds),
    });
  }

  /** Where the outbox gauges read from; set once the database is open. */
  readBacklogFrom(source: () => Promise<OutboxBacklog>): void {
    this.backlog = source;
  }

  observeRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.requestDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
  }

  codeIssued(medium: IssuedMedium): void {
    this.codesIssued.inc({ medium });
  }

  passkeyRegistered(): void {
    this.passkeysRegistered.inc();
  }

  sessionCreated(): void {
    this.sessionsCreated.inc();
  }

  passkeySignIn(outcome: SignInOutcome): void {
    this.passkeySignIns.inc({ outcome });
  }

  mailDelivery(outcome: DeliveryOutcome, count = 1): void {
    this.mailDeliveries.inc({ outcome }, count);
  }

  /** The text exposition of every metric. */
  async render(): Promise<string> {
    try {
      return await this.registry.metrics();
    } finally {
      this.backlogRead = undefined;
    }
  }

  /** NaN while the database does not answer: the process metrics are still worth a scrape. */
  private readBacklog(): Promise<OutboxBacklog> {
    this.backlogRead ??= this.backlog().catch(() => ({ pending: NaN, oldestAgeSeconds: NaN }));
    return this.backlogRead;
  }
}
