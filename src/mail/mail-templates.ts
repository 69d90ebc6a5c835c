// Passkey link mails: built-in templates per language, file overrides, and rendering.
//
// Override directory layout (read once at load, so a deployment edits files and restarts):
//   <overrideDir>/<language>/subject.txt   one line, not HTML-escaped
//   <overrideDir>/<language>/body.html     every {{value}} HTML-escaped
//   <overrideDir>/<language>/body.txt      not HTML-escaped
//   <overrideDir>/<language>/passkey-added/{subject.txt,body.html,body.txt}   the notice mail
//   <overrideDir>/<language>/passkey-removed/{subject.txt,body.html,body.txt} the removal notice
//   <overrideDir>/<language>/passkey-clone/{subject.txt,body.html,body.txt}   the clone notice
// <language> is a BCP 47 tag ("de", "de-CH"); a directory for a language that is not built in adds
// it. A directory may hold any subset of the files: a missing one comes from the built-in
// template of that language, or from English (with its overrides) for a new language.
// Templates are Handlebars with the blocks {{#if}} and {{#unless}}. The link mail's variables are
// {{displayName}}, {{link}}, {{validFor}} ("1 hour") and {{expiresAt}} ("2026-11-21 12:34 UTC");
// the notice's are {{displayName}}, {{passkeyName}} and {{addedAt}} ({{removedAt}} for a removal);
// the clone notice's {{displayName}}, {{passkeyName}}, {{provider}} (empty when unknown) and
// {{detectedAt}}.
import fs from "node:fs";
import path from "node:path";
import Handlebars from "handlebars";
import * as linkMails from "./templates";
import * as noticeMails from "./templates/passkey-added";
import * as removedNoticeMails from "./templates/passkey-removed";
import * as cloneNoticeMails from "./templates/passkey-clone";

export interface MailTemplateSource {
  language: string;
  subject: string;
  html: string;
  text: string;
}

export interface RenderedMail {
  language: string;
  subject: string;
  html: string;
  text: string;
}

export interface LinkMailVariables {
  displayName: string;
  link: string;
  lifetimeSeconds: number;
  expiresAt: Date;
}

/** One kind of mail: its built-in templates, where its overrides live, and its variables. */
interface MailKind<V> {
  /** Sub-directory of a language directory with this kind's overrides ("" is the directory itself). */
  directory: string;
  builtIn: MailTemplateSource[];
  variables: readonly string[];
  sample: V;
  values(language: string, variables: V): Record<string, string>;
}

const LINK_MAIL: MailKind<LinkMailVariables> = {
  directory: "",
  builtIn: Object.values(linkMails),
  variables: ["displayName", "link", "validFor", "expiresAt"],
  sample: {
    displayName: "Ada Lovelace",
    link: "https://id.example.com/passkey?userID=1&code=sample",
    lifetimeSeconds: 3600,
    expiresAt: new Date(0),
  },
  values: (language, v) => ({
    displayName: v.displayName,
    link: v.link,
    validFor: formatDuration(v.lifetimeSeconds, language),
    expiresAt: formatTime(v.expiresAt),
  }),
};

/** What every notice names: to whom it is addressed, and which passkey it is about. */
interface PasskeyNoticeBase {
  displayName: string;
  passkeyName: string;
}

export interface PasskeyNoticeMailVariables extends PasskeyNoticeBase {
  addedAt: Date;
}

export interface PasskeyRemovedMailVariables extends PasskeyNoticeBase {
  removedAt: Date;
}

export interface PasskeyCloneMailVariables extends PasskeyNoticeBase {
  /** The provider's name from the AAGUID list; null when unknown. */
  provider: string | null;
  detectedAt: Date;
}

/**
 * A notice about one passkey, told apart from the others only by its template folder and the
 * variables it adds (after displayName and passkeyName, in the order given). Every variable is
 * text, a time ("2026-11-21 12:34 UTC") or null (empty).
 */
function noticeKind<V extends PasskeyNoticeBase & { [K in keyof V]: string | Date | null }>(
  directory: string,
  builtIn: Record<string, MailTemplateSource>,
  sampleExtras: Omit<V, keyof PasskeyNoticeBase>,
): MailKind<V> {
  const sample = { displayName: "Ada Lovelace", passkeyName: "iPhone", ...sampleExtras } as V;
  const variables = Object.keys(sample) as (keyof V & string)[];
  return {
    directory,
    builtIn: Object.values(builtIn),
    variables,
    sample,
    values: (_language, v) =>
      Object.fromEntries(variables.map((name) => [name, noticeValue(v[name])])),
  };
}

function noticeValue(value: string | Date | null): string {
  return value instanceof Date ? formatTime(value) : (value ?? "");
}

const NOTICE_MAIL = noticeKind<PasskeyNoticeMailVariables>("passkey-added", noticeMails, {
  addedAt: new Date(0),
});

const REMOVED_NOTICE_MAIL = noticeKind<PasskeyRemovedMailVariables>(
  "passkey-removed",
  removedNoticeMails,
  { removedAt: new Date(0) },
);

const CLONE_NOTICE_MAIL = noticeKind<PasskeyCloneMailVariables>("passkey-clone", cloneNoticeMails, {
  provider: "iCloud Keychain",
  detectedAt: new Date(0),
});

const KIND_DIRECTORIES = [
  NOTICE_MAIL.directory,
  REMOVED_NOTICE_MAIL.directory,
  CLONE_NOTICE_MAIL.directory,
];

export class MailTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MailTemplateError";
  }
}

type Part = "subject" | "html" | "text";
type TemplateVariables = Record<string, string>;
type Template = Handlebars.TemplateDelegate<TemplateVariables>;

/** A part's source with the file it came from, so an error can name the file. */
interface PartSource {
  source: string;
  file: string;
}

interface LanguageSource<P = PartSource> {
  language: string;
  parts: Record<Part, P>;
}

interface LanguageOverride {
  language: string;
  parts: Partial<Record<Part, PartSource>>;
}

const FILES: Record<Part, string> = { subject: "subject.txt", html: "body.html", text: "body.txt" };
const PARTS = Object.keys(FILES) as Part[];
const BLOCK_HELPERS = ["if", "unless"];
const FALLBACK = "en";
const UNITS = [
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
] as const;

// Isolated, so helpers or partials registered elsewhere in the process cannot leak into mails.
const handlebars = Handlebars.create();

export class MailTemplates<V = LinkMailVariables> {
  private constructor(
    private readonly kind: MailKind<V>,
    private readonly byTag: Map<string, LanguageSource<Template>>,
  ) {}

  /**
   * The link mail's built-in templates, replaced or extended per language by files in
   * `overrideDir`. Throws MailTemplateError naming the file when a template does not compile or
   * uses an unknown variable, so a broken override stops start-up instead of failing at send time.
   */
  static load(overrideDir?: string): MailTemplates {
    return MailTemplates.loadKind(LINK_MAIL, overrideDir);
  }

  /** The "a passkey was added" notice, overridden from `<language>/passkey-added/`. */
  static loadPasskeyNotice(overrideDir?: string): MailTemplates<PasskeyNoticeMailVariables> {
    return MailTemplates.loadKind(NOTICE_MAIL, overrideDir);
  }

  /** The "a passkey was removed" notice, overridden from `<language>/passkey-removed/`. */
  static loadPasskeyRemovedNotice(
    overrideDir?: string,
  ): MailTemplates<PasskeyRemovedMailVariables> {
    return MailTemplates.loadKind(REMOVED_NOTICE_MAIL, overrideDir);
  }

  /** The "a passkey may have been copied" notice, overridden from `<language>/passkey-clone/`. */
  static loadPasskeyCloneNotice(overrideDir?: string): MailTemplates<PasskeyCloneMailVariables> {
    return MailTemplates.loadKind(CLONE_NOTICE_MAIL, overrideDir);
  }

  private static loadKind<V>(kind: MailKind<V>, overrideDir?: string): MailTemplates<V> {
    const sources = new Map(kind.builtIn.map((t) => [t.language, builtInSource(t)]));
    for (const override of overrideDir ? readOverrides(overrideDir, kind.directory) : []) {
      const tag = override.language.toLowerCase();
      const base = sources.get(tag) ?? sources.get(FALLBACK)!;
      sources.set(tag, {
        language: override.language,
        parts: { ...base.parts, ...override.parts },
      });
    }
    return new MailTemplates(
      kind,
      new Map([...sources].map(([tag, source]) => [tag, compileLanguage(kind, source)])),
    );
  }

  /**
   * Picks the language: exact tag (case-insensitive, e.g. "de-CH"), then its primary subtag
   * ("de"), then "en".
   */
  render(preferredLanguage: string | null, variables: V): RenderedMail {
    const { language, parts } = this.pick(preferredLanguage);
    const values = this.kind.values(language, variables);
    return {
      language,
      subject: singleLine(parts.subject(values)),
      html: parts.html(values),
      text: parts.text(values),
    };
  }

  get languages(): string[] {
    return [...this.byTag.values()].map((l) => l.language).sort();
  }

  private pick(preferredLanguage: string | null): LanguageSource<Template> {
    const tag = (preferredLanguage ?? "").trim().toLowerCase().replace(/_/g, "-");
    const primary = tag.split("-")[0] ?? "";
    return this.byTag.get(tag) ?? this.byTag.get(primary) ?? this.byTag.get(FALLBACK)!;
  }
}

function builtInSource(template: MailTemplateSource): LanguageSource {
  const part = (p: Part) => ({
    source: template[p],
    file: `built-in ${template.language}/${FILES[p]}`,
  });
  return {
    language: template.language,
    parts: { subject: part("subject"), html: part("html"), text: part("text") },
  };
}

/** English first, so a new language falls back to the English this deployment actually sends. */
function readOverrides(dir: string, kindDirectory: string): LanguageOverride[] {
  const overrides = visibleEntries(dir).map((name): LanguageOverride => {
    const languageDir = path.join(dir, name);
    if (!isDirectory(languageDir)) {
      throw new MailTemplateError(
        `${languageDir}: expected only language directories such as "de"`,
      );
    }
    const partsDir = path.join(languageDir, kindDirectory);
    return {
      language: languageTag(name, languageDir),
      parts: kindDirectory && !fs.existsSync(partsDir) ? {} : readParts(partsDir, kindDirectory),
    };
  });
  const isFallback = (o: LanguageOverride) => Number(o.language.toLowerCase() === FALLBACK);
  return overrides.sort((a, b) => isFallback(b) - isFallback(a));
}

function readParts(dir: string, kindDirectory: string): Partial<Record<Part, PartSource>> {
  const parts: Partial<Record<Part, PartSource>> = {};
  for (const name of visibleEntries(dir)) {
    const file = path.join(dir, name);
    // Another kind's sub-directory beside the link mail's files.
    if (!kindDirectory && KIND_DIRECTORIES.includes(name) && isDirectory(file)) continue;
    const part = PARTS.find((p) => FILES[p] === name);
    if (!part) {
      const expected = Object.values(FILES).join(", ");
      throw new MailTemplateError(`${file}: unknown template file; expected ${expected}`);
    }
    // Editors on Windows may save a byte order mark, which would show up in the subject.
    parts[part] = {
      file,
      source: fromFs(() => fs.readFileSync(file, "utf8")).replace(/^\uFEFF/, ""),
    };
  }
  return parts;
}

function isDirectory(file: string): boolean {
  return fromFs(() => fs.statSync(file).isDirectory());
}

function visibleEntries(dir: string): string[] {
  return fromFs(() => fs.readdirSync(dir)).filter((name) => !name.startsWith("."));
}

function fromFs<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new MailTemplateError(`cannot read mail templates: ${messageOf(error)}`);
  }
}

function languageTag(name: string, languageDir: string): string {
  try {
    return Intl.getCanonicalLocales(name)[0] ?? name;
  } catch {
    throw new MailTemplateError(`${languageDir}: "${name}" is not a language tag such as "de-CH"`);
  }
}

function compileLanguage<V>(
  kind: MailKind<V>,
  { language, parts }: LanguageSource,
): LanguageSource<Template> {
  const sample = kind.values(language, kind.sample);
  const compile = (part: Part) => compilePart(part, parts[part], sample, kind.variables);
  return {
    language,
    parts: { subject: compile("subject"), html: compile("html"), text: compile("text") },
  };
}

/** Parses, checks and renders once with sample values, so every error surfaces at load. */
function compilePart(
  part: Part,
  { source, file }: PartSource,
  sample: TemplateVariables,
  variables: readonly string[],
): Template {
  try {
    const ast = handlebars.parse(source);
    new TemplateCheck(part === "html", variables).accept(ast);
    const template = handlebars.compile<TemplateVariables>(ast, {
      strict: true,
      noEscape: part !== "html",
    });
    template(sample);
    return template;
  } catch (error) {
    throw new MailTemplateError(`${file}: ${messageOf(error)}`);
  }
}

/**
 * Catches what one sample render cannot: unknown names in branches the sample does not take,
 * helpers and partials this environment does not offer, and unescaped values in HTML.
 */
class TemplateCheck extends Handlebars.Visitor {
  constructor(
    private readonly html: boolean,
    private readonly variables: readonly string[],
  ) {
    super();
  }

  override MustacheStatement(node: hbs.AST.MustacheStatement): void {
    if (this.html && !node.escaped) fail(node, "{{{…}}} skips HTML escaping; use {{…}}");
    if (node.params.length > 0 || node.hash) fail(node, "helpers are not available");
    this.accept(node.path);
  }

  override BlockStatement(node: hbs.AST.BlockStatement): void {
    if (!BLOCK_HELPERS.includes(node.path.original)) {
      fail(node, `unknown block "${node.path.original}"; use {{#if}} or {{#unless}}`);
    }
    this.acceptArray(node.params);
    this.accept(node.program);
    if (node.inverse) this.accept(node.inverse);
  }

  override SubExpression(node: hbs.AST.SubExpression): void {
    fail(node, "helpers are not available");
  }

  override PartialStatement(node: hbs.AST.PartialStatement): void {
    fail(node, "partials are not available");
  }

  override PartialBlockStatement(node: hbs.AST.PartialBlockStatement): void {
    fail(node, "partials are not available");
  }

  override Decorator(node: hbs.AST.Decorator): void {
    fail(node, "decorators are not available");
  }

  override DecoratorBlock(node: hbs.AST.DecoratorBlock): void {
    fail(node, "decorators are not available");
  }

  override PathExpression(node: hbs.AST.PathExpression): void {
    const [name] = node.parts;
    const known = this.variables.some((v) => v === name);
    if (node.data || node.depth > 0 || node.parts.length !== 1 || !known) {
      fail(node, `unknown variable "${node.original}"; use ${this.variables.join(", ")}`);
    }
  }
}

function fail(node: hbs.AST.Node, problem: string): never {
  throw new Error(`${problem} (line ${node.loc.start.line})`);
}

/** "2026-11-21 12:34 UTC" */
function formatTime(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/**
 * In the largest whole unit: 3600 is "1 hour", 5400 is "90 minutes", 86400 is "1 day". Kept per
 * language and length: a drain formats the same few lifetimes for every mail, and formatting
 * one cost the outbox more than the rest of the template's values.
 */
function formatDuration(seconds: number, language: string): string {
  const key = `${language}\u0000${seconds}`;
  let text = formattedDurations.get(key);
  if (text === undefined) {
    const [unit, size] = UNITS.find(([, s]) => seconds >= s && seconds % s === 0) ?? ["second", 1];
    text = durationFormat(language, unit).format(seconds / size);
    if (formattedDurations.size >= FORMATTED_DURATIONS_MAX) formattedDurations.clear();
    formattedDurations.set(key, text);
  }
  return text;
}

const formattedDurations = new Map<string, string>();
/** Lifetimes are few in practice; the bound only caps what many distinct ones could keep. */
const FORMATTED_DURATIONS_MAX = 256;

/**
 * One formatter per language and unit, built on first use: building one costs more than the rest
 * of a mail's rendering. Languages are the templates' own (a handful), so the map stays small.
 */
const durationFormats = new Map<string, Intl.NumberFormat>();

function durationFormat(language: string, unit: string): Intl.NumberFormat {
  const key = `${language}\u0000${unit}`;
  let format = durationFormats.get(key);
  if (!format) {
    // An unsupported locale would otherwise fall back to the host's locale, not to English.
    const locale = Intl.NumberFormat.supportedLocalesOf(language)[0] ?? FALLBACK;
    format = new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: "long" });
    durationFormats.set(key, format);
  }
  return format;
}

/** A line break in a header would let a display name inject headers such as Bcc. */
function singleLine(subject: string): string {
  return subject.replace(/[\r\n]+/g, " ").trim();
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
