// Delivery through nodemailer: pooled SMTP when SMTP_URL is set, otherwise .eml files on disk.
import fs from "node:fs/promises";
import path from "node:path";
import { Worker } from "node:worker_threads";
import type { Transporter, TransportOptions } from "nodemailer";
import type { FastifyBaseLogger } from "fastify";

export interface OutgoingMail {
  messageId: string;
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string;
}

export interface MailTransport {
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/**
 * Bounds each stage of one send (connect, greeting, every socket wait). Independent of the outbox
 * lease: the worker renews its claim while a send is in flight.
 */
const SMTP_STAGE_TIMEOUT_MS = 30_000;

export function createMailTransport(
  options: {
    smtpUrl: string | undefined;
    smtpRequireTls: boolean;
    smtpMaxConnections: number;
    dataDir: string;
    /** How long the SMTP thread outlives its last mail (tests shorten it). */
    smtpThreadIdleMs?: number;
  },
  log: FastifyBaseLogger,
): MailTransport {
  return options.smtpUrl
    ? new ThreadedSmtpTransport(
        smtpTransportOptions(options.smtpUrl, options.smtpRequireTls, options.smtpMaxConnections),
        options.smtpThreadIdleMs ?? SMTP_THREAD_IDLE_MS,
      )
    : new FileTransport(path.join(options.dataDir, "mail"), log);
}

/**
 * nodemailer's options for our pooled SMTP transport (the benchmark's bare-pool baseline uses the
 * same). `requireTls`: no mail (and no password) goes out unless the server upgrades the
 * connection with STARTTLS. `maxConnections` bounds the pool, and so the worker's parallel sends.
 */
export function smtpTransportOptions(
  url: string,
  requireTls: boolean,
  maxConnections: number,
  timeoutMs = SMTP_STAGE_TIMEOUT_MS,
): TransportOptions {
  return {
    url,
    ...(requireTls ? { requireTLS: true } : {}),
    pool: true,
    maxConnections,
    connectionTimeout: Math.min(10_000, timeoutMs),
    greetingTimeout: Math.min(10_000, timeoutMs),
    socketTimeout: timeoutMs,
  } as TransportOptions;
}

/**
 * Pooled SMTP in a worker thread of its own: composing a MIME message and the SMTP exchange cost
 * about two thirds of the outbox's CPU per mail (bench/REPORT.md), which on the main thread
 * competed with the GraphQL requests and bounded the drain to one core. The thread runs the same
 * nodemailer pool with the same options; the main thread hands it each mail and gets back the
 * outcome, a failure with the fields `isPermanentFailure` and `describeFailure` read. A thread
 * starts with the first mail and ends after SMTP_THREAD_IDLE_MS without one, so an idle process
 * does not keep its memory.
 */
class ThreadedSmtpTransport implements MailTransport {
  private thread: SmtpThread | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: TransportOptions,
    private readonly idleMs: number,
  ) {}

  async send(mail: OutgoingMail): Promise<void> {
    clearTimeout(this.idleTimer);
    // A thread that ended by itself (it failed) is replaced: its mails were failed as retryable.
    if (!this.thread || this.thread.ended) this.thread = new SmtpThread(this.options);
    const thread = this.thread;
    try {
      await thread.send(mail);
    } finally {
      if (thread === this.thread && thread.idle) {
        this.idleTimer = setTimeout(() => this.close(), this.idleMs);
        this.idleTimer.unref();
      }
    }
  }

  close(): void {
    clearTimeout(this.idleTimer);
    this.thread?.close();
    this.thread = undefined;
  }
}

const SMTP_THREAD_IDLE_MS = 10_000;

/** One worker thread and the sends it was handed. */
class SmtpThread {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: () => void; reject: (error: Error) => void }
  >();
  private nextId = 0;
  /** The thread has ended (closed, or failed): nothing sent to it would be answered. */
  ended = false;

  constructor(options: TransportOptions) {
    this.worker = new Worker(SMTP_THREAD, {
      eval: true,
      workerData: { nodemailer: require.resolve("nodemailer"), options },
      // The thread's garbage is short-lived MIME buffers: a small young generation keeps its
      // memory down (about 20 MB of resident memory with this, 50 MB without; REPORT.md).
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    this.worker.on("message", (reply: SmtpReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (reply.error) waiting.reject(Object.assign(new Error(reply.error.message), reply.error));
      else waiting.resolve();
    });
    const lost = (cause: unknown) => {
      this.ended = true;
      const failure = threadEnded(cause);
      for (const waiting of this.pending.values()) waiting.reject(failure);
      this.pending.clear();
    };
    this.worker.on("error", lost);
    this.worker.on("exit", (code) => lost(`exit code ${code}`));
  }

  get idle(): boolean {
    return this.pending.size === 0;
  }

  send(mail: OutgoingMail): Promise<void> {
    if (this.ended) return Promise.reject(threadEnded("before the mail was handed over"));
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.worker.postMessage({ id, mail });
      this.pending.set(id, { resolve, reject });
    });
  }

  /** The thread closes its pool once the sends handed to it are done, and ends. */
  close(): void {
    this.worker.postMessage({ close: true });
  }
}

/** Like a dropped connection: the mails are retried by a later claim. */
function threadEnded(cause: unknown): Error {
  return Object.assign(new Error(`the SMTP thread ended: ${String(cause)}`), {
    code: "ECONNECTION",
  });
}

interface SmtpReply {
  id: number;
  error?: { message: string; code?: string; responseCode?: number; response?: string };
}

/** The thread's code (plain JavaScript: it runs as is, from the sources or from dist). */
const SMTP_THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const transporter = require(workerData.nodemailer).createTransport(workerData.options);
let inFlight = 0;
let closing = false;
const closeWhenDone = () => {
  if (!closing || inFlight > 0) return;
  transporter.close();
  parentPort.close();
};
const failure = (error) => ({
  message: String((error && error.message) || error),
  code: error && typeof error.code === "string" ? error.code : undefined,
  responseCode: error && typeof error.responseCode === "number" ? error.responseCode : undefined,
  response: error && typeof error.response === "string" ? error.response : undefined,
});
parentPort.on("message", (message) => {
  if (message.close) {
    closing = true;
    return closeWhenDone();
  }
  inFlight++;
  transporter
    .sendMail(message.mail)
    .then(
      () => parentPort.postMessage({ id: message.id }),
      (error) => parentPort.postMessage({ id: message.id, error: failure(error) }),
    )
    .finally(() => {
      inFlight--;
      closeWhenDone();
    });
});
`;

/** The embedded default: each mail becomes DATA_DIR/mail/<time>-<id>.eml, named in the log. */
class FileTransport implements MailTransport {
  /**
   * nodemailer is loaded on first use: with SMTP_URL set only the SMTP thread needs it, so the
   * main thread does not hold its modules (about 3.5 MB of heap).
   */
  private transporter: Promise<Transporter> | undefined;

  constructor(
    private readonly directory: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  async send(mail: OutgoingMail): Promise<void> {
    this.transporter ??= import("nodemailer").then(({ default: nodemailer }) =>
      nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" }),
    );
    const info = (await (await this.transporter).sendMail(mail)) as { message: Buffer };
    await fs.mkdir(this.directory, { recursive: true, mode: 0o700 });
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const id = mail.messageId.replace(/[<>]/g, "").split("@")[0] ?? "mail";
    const file = path.join(this.directory, `${stamp}-${id}.eml`);
    await fs.writeFile(file, info.message, { mode: 0o600 });
    this.log.info({ file, messageId: mail.messageId }, `mail written to ${file}`);
  }

  close(): void {
    void this.transporter?.then((transporter) => transporter.close());
  }
}

/** Failures of the connection, not of the message: an operator can fix them, so they are retried. */
const CONNECTION_FAILURES = new Set(["EAUTH", "ECONNECTION", "ETIMEDOUT", "ETLS"]);

/**
 * Permanent SMTP rejections (5xx for this message) fail fast; everything else — 4xx, refused or
 * dropped connections, timeouts, and authentication or TLS trouble (a server without the STARTTLS
 * that SMTP_REQUIRE_TLS asks for) that an operator can fix — is retried.
 */
export function isPermanentFailure(error: unknown): boolean {
  const { responseCode, code } = (error ?? {}) as { responseCode?: number; code?: string };
  if (code !== undefined && CONNECTION_FAILURES.has(code)) return false;
  return typeof responseCode === "number" && responseCode >= 500 && responseCode < 600;
}

export function describeFailure(error: unknown): string {
  const { response, code, message } = (error ?? {}) as {
    response?: string;
    code?: string;
    message?: string;
  };
  // A refused STARTTLS answers "500 command not recognized": say what was refused.
  if (code === "ETLS") return [message, response].filter(Boolean).join(": ");
  return (response ?? [code, message].filter(Boolean).join(": ")) || "unknown error";
}
