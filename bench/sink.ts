// A local SMTP sink for the benchmark: accepts and counts mails, keeps nothing but the first
// message (so a baseline can send mails of the same shape) and when the last one arrived.
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

interface Received {
  count: number;
  lastAt: number;
  first: Buffer | undefined;
}

export class CountingSink {
  private constructor(
    private readonly server: SMTPServer,
    readonly url: string,
    private readonly received: Received,
  ) {}

  get count(): number {
    return this.received.count;
  }

  /** `Date.now()` when the last mail was accepted (0 before any). */
  get lastAt(): number {
    return this.received.lastAt;
  }

  /** The raw first message the sink accepted, if any. */
  get first(): Buffer | undefined {
    return this.received.first;
  }

  static async start(): Promise<CountingSink> {
    const received: Received = { count: 0, lastAt: 0, first: undefined };
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      closeTimeout: 100,
      onData: (stream, _session, callback) => {
        const keep = received.first === undefined;
        const chunks: Buffer[] = [];
        if (keep) stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("end", () => {
          received.count += 1;
          received.lastAt = Date.now();
          if (keep && received.first === undefined) received.first = Buffer.concat(chunks);
          callback();
        });
        if (!keep) stream.resume();
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = (server as unknown as { server: { address(): AddressInfo } }).server.address();
    return new CountingSink(server, `smtp://127.0.0.1:${port}`, received);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
