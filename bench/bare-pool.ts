// The outbox drain's baseline: a bare nodemailer pool, with our transport's options, sending
// `count` mails of the given shape to the sink, all handed to the pool at once. Forked by
// bench/run.ts (its own process, as the server is), told what to send over IPC; answers with the
// time the sends took.
import nodemailer from "nodemailer";
import { smtpTransportOptions } from "../src/mail/mail-transport";

export interface BarePoolJob {
  url: string;
  count: number;
  maxConnections: number;
  mail: { from: string; subject: string; html: string; text: string };
}

export interface BarePoolResult {
  startedAt: number;
  finishedAt: number;
  failed: number;
  /** CPU time the process spent from the first send to the last (user + system), in ms. */
  cpuMs: number;
}

process.once("message", (job: BarePoolJob) => {
  void (async () => {
    const transporter = nodemailer.createTransport(
      smtpTransportOptions(job.url, false, job.maxConnections),
    );
    const startedAt = Date.now();
    const cpuBefore = process.cpuUsage();
    const outcomes = await Promise.allSettled(
      Array.from({ length: job.count }, (_, i) =>
        transporter.sendMail({
          ...job.mail,
          messageId: `<bare-${i}-${startedAt}@bench.example>`,
          to: `bare-${i}@bench.example`,
        }),
      ),
    );
    const cpu = process.cpuUsage(cpuBefore);
    const result: BarePoolResult = {
      startedAt,
      finishedAt: Date.now(),
      cpuMs: (cpu.user + cpu.system) / 1000,
      failed: outcomes.filter((outcome) => outcome.status === "rejected").length,
    };
    transporter.close();
    process.send!(result, () => process.exit(0));
  })();
});
