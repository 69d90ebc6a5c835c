// Prometheus metrics (SPEC 16). One registry per app, so several apps in one process (the tests)
// never share counters; services get this object from the composition root.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export const ISSUED_MEDIA = ["RETURNED", "LINK", "EMAIL"] as const;
export type IssuedMedium = (typeof ISSUED_MEDIA)[number];
export const DELIVERY_OUTCOMES = ["sent", "retried", "failed"] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/**
 * A counter with one label whose known values are all exported from the first scrape, at 0
 * (Prometheus' "avoid missing metrics"): rate() and alerts on a value that has not happened yet
 * see 0 instead of no series at all.
 */
export function labelledCounter<L extends string>(options: {
  registry: Registry;
  name: string;
  help: string;
  label: L;
  values: readonly string[];
}): Counter<L> {
  const counter = new Counter({
    name: options.name,
    help: options.help,
    labelNames: [options.label],
    registers: [options.registry],
  });
  for (const value of options.values) {
    counter.inc({ [options.label]: value } as Partial<Record<L, string>>, 0);
  }
  return counter;
}
export const SIGNIN_OUTCOMES = ["success", "failed", "clone"] as const;
export type SignInOutcome = (typeof SIGNIN_OUTCOMES)[number];

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
  private readonly codesIssued = labelledCounter({
    registry: this.registry,
    name: "passkey_codes_issued_total",
    help: "Passkey registration codes issued, by medium (RETURNED, LINK, EMAIL).",
    label: "medium",
    values: ISSUED_MEDIA,
  });
  private readonly passkeysRegistered = new Counter({
    name: "passkeys_registered_total",
    help: "Passkeys stored after a verified registration.",
    registers: [this.registry],
  });
  private readonly mailDeliveries = labelledCounter({
    registry: this.registry,
    name: "mail_deliveries_total",
    help: "Mail delivery attempts, by outcome (sent, retried, failed).",
    label: "outcome",
    values: DELIVERY_OUTCOMES,
  });
  private readonly sessionsCreated = new Counter({
    name: "sessions_created_total",
    help: "Sessions created (createSession), verified or not.",
    registers: [this.registry],
  });
  private readonly passkeySignIns = labelledCounter({
    registry: this.registry,
    name: "passkey_signins_total",
    help: "Passkey checks on sessions, by outcome (success, failed, clone).",
    label: "outcome",
    values: SIGNIN_OUTCOMES,
  });
  private backlog: () => Promise<OutboxBacklog> = () =>
    Promise.resolve({ pending: 0, oldestAgeSeconds: 0 });
  private backlogRead: Promise<OutboxBacklog> | undefined;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
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
