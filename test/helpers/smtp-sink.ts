// A real SMTP server in the test process (smtp-server + mailparser) that records what it receives
// and can accept, refuse permanently (550) or temporarily (451), answer slowly, or go away and come
// back.
import type { AddressInfo } from "node:net";
import type { ParsedMail } from "mailparser";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { freePort } from "./ports";
import { eventually } from "./wait";

export type SinkMode = "accept" | "reject-permanent" | "reject-temporary";

export interface ReceivedMail {
  to: string[];
  from: string;
  subject: string;
  html: string;
  text: string;
  messageId: string;
  parsed: ParsedMail;
}

export class SmtpSink {
  readonly mails: ReceivedMail[] = [];
  mode: SinkMode = "accept";
  /** Delivery attempts the sink saw (accepted or refused). */
  attempts = 0;
  /** The recipients of every delivery attempt, in order, from the moment its data begins. */
  readonly attemptedTo: string[] = [];
  /**
   * How long the sink holds a received message before accepting it, so tests can catch sends in
   * flight. A message whose connection closed meanwhile was never accepted and is not recorded.
   */
  delayMs = 0;
  /** SMTP connections open right now. */
  openConnections = 0;
  private server: SMTPServer;
  private readonly closedSessions = new Set<string>();

  private constructor(
    public port: number,
    readonly host: string,
  ) {
    this.server = this.createServer();
  }

  /**
   * Listens on `host` (default loopback) on a free port below the ephemeral range (see
   * `freePort`): an ephemeral one could be taken as the local port of some test's outgoing
   * connection while the sink is stopped, and `restart` would then fail.
   */
  static async start(host = "127.0.0.1"): Promise<SmtpSink> {
    for (let tries = 1; ; tries++) {
      const sink = new SmtpSink(await freePort(), host);
      try {
        await sink.listen();
        return sink;
      } catch (error) {
        // Free on loopback, taken on `host`, or taken by another test meanwhile.
        if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || tries === 10) throw error;
      }
    }
  }

  get url(): string {
    return `smtp://${this.host}:${this.port}`;
  }

  /** Resolves once `count` mails have arrived, failing after `timeoutMs`. */
  waitFor(count: number, timeoutMs = 15_000): Promise<ReceivedMail[]> {
    return eventually(
      `${count} mails`,
      () => (this.mails.length >= count ? this.mails : undefined),
      timeoutMs,
    );
  }

  /** Closes the port: clients now get "connection refused". */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  async restart(): Promise<void> {
    this.server = this.createServer();
    await this.listen();
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.port, this.host, () => {
        const address = (
          this.server as unknown as { server: { address(): AddressInfo } }
        ).server.address();
        this.port = address.port;
        resolve();
      });
    });
  }

  private createServer(): SMTPServer {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      closeTimeout: 50,
      onData: (stream, session, callback) => {
        this.attempts += 1;
        this.attemptedTo.push(...session.envelope.rcptTo.map((rcpt) => rcpt.address));
        if (this.mode !== "accept") {
          stream.resume();
          stream.on("end", () => {
            const permanent = this.mode === "reject-permanent";
            const error = new Error(
              permanent ? "mailbox unavailable" : "try again later",
            ) as Error & {
              responseCode: number;
            };
            error.responseCode = permanent ? 550 : 451;
            callback(error);
          });
          return;
        }
        simpleParser(stream)
          .then(async (parsed) => {
            if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
            if (this.closedSessions.has(session.id)) return;
            this.mails.push({
              to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
              subject: parsed.subject ?? "",
              html: typeof parsed.html === "string" ? parsed.html : "",
              text: parsed.text ?? "",
              messageId: parsed.messageId ?? "",
              parsed,
            });
            callback();
          })
          .catch((error: Error) => callback(error));
      },
      onConnect: (_session, callback) => {
        this.openConnections += 1;
        callback();
      },
      onClose: (session) => {
        this.openConnections -= 1;
        this.closedSessions.add(session.id);
      },
    });
    // A client that dies mid-session (a killed server process) resets its connection; without a
    // listener that error would crash the test process.
    server.on("error", () => undefined);
    return server;
  }
}
