// Reads the .eml files of the file transport back for people (`npm run cli -- mail`): the headers a
// reader looks for and the decoded text part. Enough MIME for what nodemailer writes (multipart
// parts, quoted-printable or base64 bodies, RFC 2047 encoded words), without a mail parser.
import fs from "node:fs";
import path from "node:path";

export interface ReadableMail {
  file: string;
  to: string;
  from: string;
  subject: string;
  date: string;
  /** The decoded text/plain part; empty when the mail has none. */
  text: string;
}

/** The newest `count` mails of `directory` (file names start with the time they were written). */
export function latestMails(directory: string, count: number): ReadableMail[] {
  if (!fs.existsSync(directory)) return [];
  return fs
    .readdirSync(directory)
    .filter((name) => name.endsWith(".eml"))
    .sort()
    .slice(-count)
    .reverse()
    .map((name) => {
      const file = path.join(directory, name);
      return { file, ...readEml(fs.readFileSync(file)) };
    });
}

export function readEml(raw: Buffer): Omit<ReadableMail, "file"> {
  const { headers, body } = splitEntity(raw.toString("latin1"));
  return {
    to: decodeWords(headers.get("to") ?? ""),
    from: decodeWords(headers.get("from") ?? ""),
    subject: decodeWords(headers.get("subject") ?? ""),
    date: headers.get("date") ?? "",
    text: textPart(headers, body) ?? "",
  };
}

/** Headers (lower-cased names, folded lines joined) and body of one entity, kept as latin1 bytes. */
function splitEntity(entity: string): { headers: Map<string, string>; body: string } {
  const normalised = entity.replace(/\r\n/g, "\n");
  const end = normalised.indexOf("\n\n");
  const head = end === -1 ? normalised : normalised.slice(0, end);
  const body = end === -1 ? "" : normalised.slice(end + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, " ").split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0)
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function parameter(header: string, name: string): string | undefined {
  const match = new RegExp(`;\\s*${name}="?([^";]+)"?`, "i").exec(header);
  return match?.[1];
}

function textPart(headers: Map<string, string>, body: string): string | undefined {
  const type = headers.get("content-type") ?? "text/plain";
  const boundary = parameter(type, "boundary");
  if (/^multipart\//i.test(type) && boundary) {
    const parts = body.split(`--${boundary}`).slice(1);
    for (const part of parts) {
      if (part.startsWith("--")) break;
      const entity = splitEntity(part.replace(/^[ \t]*\n/, ""));
      const text = textPart(entity.headers, entity.body);
      if (text !== undefined) return text;
    }
    return undefined;
  }
  if (!/^text\/plain/i.test(type)) return undefined;
  const bytes = decodeBody(body, headers.get("content-transfer-encoding") ?? "7bit");
  return decodeCharset(bytes, parameter(type, "charset")).replace(/\n$/, "");
}

function decodeBody(body: string, encoding: string): Buffer {
  switch (encoding.trim().toLowerCase()) {
    case "quoted-printable":
      return quotedPrintable(body);
    case "base64":
      return Buffer.from(body.replace(/\s+/g, ""), "base64");
    default:
      return Buffer.from(body, "latin1");
  }
}

/** Soft line breaks (`=` at the end of a line) vanish; `=XX` is one byte. */
function quotedPrintable(body: string): Buffer {
  const joined = body.replace(/=\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(joined.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder(charset ?? "utf-8").decode(bytes);
  } catch {
    return bytes.toString("utf8");
  }
}

/**
 * RFC 2047 encoded words (`=?UTF-8?Q?...?=`, `=?UTF-8?B?...?=`); blanks between two vanish. Text
 * outside them is ASCII, or raw UTF-8 that was read as latin1 bytes.
 */
function decodeWords(value: string): string {
  return Buffer.from(value, "latin1")
    .toString("utf8")
    .replace(/(\?=)\s+(=\?)/g, "$1$2")
    .replace(
      /=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g,
      (_, charset: string, encoding: string, text: string) =>
        decodeCharset(
          encoding.toUpperCase() === "B"
            ? Buffer.from(text, "base64")
            : quotedPrintable(text.replace(/_/g, " ")),
          charset,
        ),
    );
}

/** One mail as the CLI prints it. */
export function formatMail(mail: ReadableMail): string {
  return [
    `To:      ${mail.to}`,
    `From:    ${mail.from}`,
    `Subject: ${mail.subject}`,
    `Date:    ${mail.date}`,
    `File:    ${mail.file}`,
    "",
    mail.text || "(no text part)",
  ].join("\n");
}
