// A local SMTP sink for the benchmark: accepts and counts mails, keeps nothing.
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export class CountingSink {
  private constructor(
    private readonly server: SMTPServer,
    readonly url: string,
    private readonly received: { count: number },
  ) {}

  get count(): number {
    return this.received.count;
  }

  static async start(): Promise<CountingSink> {
    const received = { count: 0 };
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      closeTimeout: 100,
      onData: (stream, _session, callback) => {
        stream.on("end", () => {
          received.count += 1;
          callback();
        });
        stream.resume();
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
