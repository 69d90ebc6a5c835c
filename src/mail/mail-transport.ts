// Delivery through nodemailer: pooled SMTP when SMTP_URL is set, otherwise .eml files on disk.
import fs from "node:fs/promises";
import path from "node:path";
import nodemailer from "nodemailer";
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
  },
  log: FastifyBaseLogger,
): MailTransport {
  return options.smtpUrl
    ? new SmtpTransport(
        smtpTransportOptions(options.smtpUrl, options.smtpRequireTls, options.smtpMaxConnections),
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

class SmtpTransport implements MailTransport {
  private readonly transporter: Transporter;

  constructor(options: TransportOptions) {
    this.transporter = nodemailer.createTransport(options);
  }

  async send(mail: OutgoingMail): Promise<void> {
    await this.transporter.sendMail(mail);
  }

  close(): void {
    this.transporter.close();
  }
}

/** The embedded default: each mail becomes DATA_DIR/mail/<time>-<id>.eml, named in the log. */
class FileTransport implements MailTransport {
  private readonly transporter = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: "unix",
  });

  constructor(
    private readonly directory: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  async send(mail: OutgoingMail): Promise<void> {
    const info = (await this.transporter.sendMail(mail)) as { message: Buffer };
    await fs.mkdir(this.directory, { recursive: true, mode: 0o700 });
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const id = mail.messageId.replace(/[<>]/g, "").split("@")[0] ?? "mail";
    const file = path.join(this.directory, `${stamp}-${id}.eml`);
    await fs.writeFile(file, info.message, { mode: 0o600 });
    this.log.info({ file, messageId: mail.messageId }, `mail written to ${file}`);
  }

  close(): void {
    this.transporter.close();
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
