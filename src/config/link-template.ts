// Link templates: a strict parser for {{.UserID}} {{.OrgID}} {{.CodeID}} {{.Code}} and the rules
// a rendered link must meet (absolute https URL on an allowed origin).
import { ApiError } from "../errors";
import { isLoopbackHost } from "./url-rules";

export const PLACEHOLDERS = ["UserID", "OrgID", "CodeID", "Code"] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
export type LinkValues = Record<Placeholder, string>;

export const MAX_TEMPLATE_LENGTH = 200;

/** Anything but printable ASCII, and the printable characters URL parsers treat differently. */
const UNSAFE_CHARACTERS = /[^\x21-\x7e]|[\\"<>`^|]/;

type Part = { literal: string } | { placeholder: Placeholder };

const PLACEHOLDER_BODY = /^\s*\.([A-Za-z]+)\s*$/;

type TemplateProblem =
  | "empty"
  | "too-long"
  | "malformed"
  | "unknown-placeholder"
  | "invalid-character"
  | "placeholder-in-origin"
  | "placeholder-in-path"
  | "not-absolute"
  | "not-https"
  | "credentials"
  | "origin-not-allowed";

const invalid = (id: TemplateProblem, message: string) =>
  ApiError.invalidArgument(`LINK-template-${id}` as const, `urlTemplate: ${message}`);

export class LinkTemplate {
  private constructor(
    private readonly parts: Part[],
    private readonly allowedOrigins: readonly string[],
  ) {}

  /**
   * Parses and checks a template. Placeholders may appear only in the query string or fragment:
   * the origin is fixed by the template itself and checked against `allowedOrigins` here, once,
   * and no value ever lands in a path, which logs record.
   * `maxLength` applies to client-supplied templates (the configured default may be longer).
   */
  static parse(
    source: string,
    allowedOrigins: readonly string[],
    maxLength: number = MAX_TEMPLATE_LENGTH,
  ): LinkTemplate {
    if (source.trim().length === 0) throw invalid("empty", "must not be empty");
    if (source.length > maxLength) {
      throw invalid("too-long", `must be at most ${maxLength} characters`);
    }
    const template = new LinkTemplate(tokenize(source), allowedOrigins);
    // URL parsers disagree on these (a space or backslash can hide a second host from one parser
    // and show it to another, or to a mail client), so the text around placeholders may not
    // contain them at all.
    if (template.parts.some((part) => "literal" in part && UNSAFE_CHARACTERS.test(part.literal))) {
      throw invalid(
        "invalid-character",
        "may contain only printable ASCII without spaces, backslashes, quotes or angle brackets",
      );
    }
    const firstPlaceholder = template.parts.findIndex((part) => "placeholder" in part);
    const prefix = template.parts
      .slice(0, firstPlaceholder === -1 ? undefined : firstPlaceholder)
      .map((part) => ("literal" in part ? part.literal : ""))
      .join("");
    if (firstPlaceholder !== -1 && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*[/?#]/.test(prefix)) {
      throw invalid("placeholder-in-origin", "placeholders may appear only after the host");
    }
    // A path is what access logs, proxies and analytics record of a URL (this server logs no
    // query string, SPEC 12): a code in it would end up in someone's log.
    if (firstPlaceholder !== -1 && !/^[^:]+:\/\/[^/?#]*[^?#]*[?#]/.test(prefix)) {
      throw invalid(
        "placeholder-in-path",
        "placeholders may appear only in the query string or fragment",
      );
    }
    template.checkUrl(
      template.substitute({ UserID: "user", OrgID: "org", CodeID: "codeid", Code: "code" }),
    );
    return template;
  }

  /**
   * Substitutes URL-encoded values and returns the normalised URL, whose origin is checked again:
   * what is returned or mailed is exactly what was checked.
   */
  render(values: LinkValues): string {
    const url = new URL(this.substitute(values));
    if (!this.allowedOrigins.includes(url.origin)) {
      throw invalid("origin-not-allowed", `origin ${url.origin} is not allowed`);
    }
    return url.href;
  }

  private substitute(values: LinkValues): string {
    return this.parts
      .map((part) =>
        "literal" in part ? part.literal : encodeURIComponent(values[part.placeholder]),
      )
      .join("");
  }

  private checkUrl(link: string): void {
    if (!URL.canParse(link)) throw invalid("not-absolute", "must yield an absolute URL");
    const url = new URL(link);
    const httpAllowed = url.protocol === "http:" && isLoopbackHost(url.hostname);
    if (url.protocol !== "https:" && !httpAllowed) {
      throw invalid("not-https", "must yield an https URL (http only for loopback hosts)");
    }
    if (url.username || url.password) {
      throw invalid("credentials", "must not contain user information");
    }
    if (!this.allowedOrigins.includes(url.origin)) {
      throw invalid(
        "origin-not-allowed",
        `origin ${url.origin} is not EXTERNAL_URL's nor listed in LINK_ALLOWED_ORIGINS`,
      );
    }
  }
}

function tokenize(source: string): Part[] {
  const parts: Part[] = [];
  let rest = source;
  while (rest.length > 0) {
    const open = rest.indexOf("{{");
    const strayClose = rest.indexOf("}}");
    if (strayClose !== -1 && (open === -1 || strayClose < open)) {
      throw invalid("malformed", "has '}}' without a matching '{{'");
    }
    if (open === -1) {
      parts.push({ literal: rest });
      break;
    }
    if (open > 0) parts.push({ literal: rest.slice(0, open) });
    const close = rest.indexOf("}}", open + 2);
    if (close === -1) throw invalid("malformed", "has an unclosed placeholder");
    const body = rest.slice(open + 2, close);
    const match = PLACEHOLDER_BODY.exec(body);
    if (!match?.[1]) throw invalid("malformed", `has a malformed placeholder {{${body}}}`);
    const name = match[1];
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
      throw invalid(
        "unknown-placeholder",
        `has an unknown placeholder {{.${name}}}; known: ${PLACEHOLDERS.map((p) => `{{.${p}}}`).join(" ")}`,
      );
    }
    parts.push({ placeholder: name as Placeholder });
    rest = rest.slice(close + 2);
  }
  return parts;
}
