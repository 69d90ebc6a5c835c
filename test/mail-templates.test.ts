// Mail templates: languages and fallback, escaping, durations, and file overrides checked at load.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LinkMailVariables } from "../src/mail/mail-templates";
import { MailTemplateError, MailTemplates } from "../src/mail/mail-templates";

const link = "https://id.example.com/ui/login/passwordless/init?userID=42&code=Ab3%2Bx";
// How Handlebars escapes the link inside HTML; browsers and mail clients decode it back.
const linkInHtml =
  "https://id.example.com/ui/login/passwordless/init?userID&#x3D;42&amp;code&#x3D;Ab3%2Bx";

const variables = (overrides: Partial<LinkMailVariables> = {}): LinkMailVariables => ({
  displayName: "Ada Lovelace",
  link,
  lifetimeSeconds: 3600,
  expiresAt: new Date("2026-11-21T12:34:56Z"),
  ...overrides,
});

const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** Writes an override directory; keys are paths such as "de/subject.txt". */
function overrideDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mail-templates-"));
  tempDirs.push(dir);
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

const templates = MailTemplates.load();

it("offers English and German built in", () => {
  expect(templates.languages).toEqual(["de", "en"]);
});

it("writes the English mail with the link as a button and as plain text", () => {
  const mail = templates.render("en", variables());
  expect(mail.language).toBe("en");
  expect(mail.subject).toBe("Your link to register a passkey");
  expect(mail.html).toContain("Hello Ada Lovelace,");
  expect(mail.html).toMatch(
    new RegExp(`<a href="${escapeRegExp(linkInHtml)}"[^>]*>Register passkey</a>`),
  );
  expect(mail.html).toContain(`Or copy this link into your browser:`);
  expect(mail.html).toContain(`>${linkInHtml}</p>`);
  expect(mail.html).toContain("valid for 1 hour (until 2026-11-21 12:34 UTC)");
  expect(mail.html).toContain("If you did not ask for this, ignore this mail");
  expect(mail.text).toContain("Hello Ada Lovelace,");
  expect(mail.text).toContain(`\n${link}\n`);
  expect(mail.text).toContain("valid for 1 hour (until 2026-11-21 12:34 UTC)");
  expect(mail.text).not.toContain("<");
});

it("writes the German mail formally, with German durations", () => {
  const mail = templates.render("de", variables());
  expect(mail.language).toBe("de");
  expect(mail.subject).toBe("Ihr Link zum Einrichten eines Passkeys");
  expect(mail.html).toContain('<html lang="de">');
  expect(mail.html).toContain("Guten Tag Ada Lovelace,");
  expect(mail.html).toMatch(
    new RegExp(`<a href="${escapeRegExp(linkInHtml)}"[^>]*>Passkey einrichten</a>`),
  );
  expect(mail.html).toContain(`>${linkInHtml}</p>`);
  expect(mail.html).toContain("Der Link ist 1 Stunde lang gültig (bis 2026-11-21 12:34 UTC)");
  expect(mail.text).toContain("Guten Tag Ada Lovelace,");
  expect(mail.text).toContain(`\n${link}\n`);
  expect(mail.text).toContain("Falls Sie das nicht angefordert haben");
});

it.each([
  ["en", 5400, "90 minutes"],
  ["en", 86400, "1 day"],
  ["en", 7200, "2 hours"],
  ["de", 5400, "90 Minuten"],
  ["de", 86400, "1 Tag"],
  ["de", 172800, "2 Tage"],
])("says in %s that %i seconds are %s", (language, lifetimeSeconds, validFor) => {
  const mail = templates.render(language, variables({ lifetimeSeconds }));
  expect(mail.text).toContain(` ${validFor} `);
  expect(mail.html).toContain(` ${validFor} `);
});

it.each([
  ["de-CH", "de"],
  ["DE", "de"],
  ["fr", "en"],
  ["", "en"],
  [null, "en"],
])("answers a preference for %p in %p", (preferred, language) => {
  expect(templates.render(preferred, variables()).language).toBe(language);
});

it("escapes the display name in HTML and keeps it readable in text", () => {
  const displayName = `<script>alert(1)</script> & "Bob"`;
  const mail = templates.render("en", variables({ displayName }));
  expect(mail.html).toContain("Hello &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Bob&quot;,");
  expect(mail.html).not.toContain("<script>");
  expect(mail.text).toContain(`Hello ${displayName},`);
});

it("keeps the subject on one line and unescaped", () => {
  const custom = MailTemplates.load(
    overrideDir({ "en/subject.txt": "Passkey for {{displayName}}\n" }),
  );
  const mail = custom.render(
    "en",
    variables({ displayName: "Tom & Jerry\r\nBcc: eve@example.com" }),
  );
  expect(mail.subject).toBe("Passkey for Tom & Jerry Bcc: eve@example.com");
});

it("replaces only the German subject from an override file", () => {
  const custom = MailTemplates.load(
    overrideDir({ "de/subject.txt": "Neuer Passkey für {{displayName}}" }),
  );
  const german = custom.render("de-AT", variables());
  expect(german.subject).toBe("Neuer Passkey für Ada Lovelace");
  expect(german.html).toContain("Guten Tag Ada Lovelace,");
  expect(german.text).toContain("Der Link ist 1 Stunde lang gültig");
  expect(custom.render("en", variables()).subject).toBe("Your link to register a passkey");
});

it("adds a language from an override directory, English filling the missing parts", () => {
  const custom = MailTemplates.load(
    overrideDir({
      "fr/subject.txt": "Votre lien pour enregistrer une clé d'accès",
      "fr/body.txt": "Bonjour {{displayName}},\n\n{{link}}\n\nCe lien est valable {{validFor}}.\n",
    }),
  );
  expect(custom.languages).toEqual(["de", "en", "fr"]);
  const mail = custom.render("fr-CA", variables());
  expect(mail.language).toBe("fr");
  expect(mail.subject).toBe("Votre lien pour enregistrer une clé d'accès");
  // French puts a no-break space between number and unit.
  expect(mail.text).toBe(`Bonjour Ada Lovelace,\n\n${link}\n\nCe lien est valable 1\u00a0heure.\n`);
  expect(mail.html).toContain("Hello Ada Lovelace,");
});

it.each([
  ["de/body.html", "<p>{{#if displayName}}Hallo {{displayName}}</p>", /Parse error on line 1/],
  ["de/body.txt", "Hallo {{nope}}", /unknown variable "nope"/],
  ["de/body.txt", "{{#if displayName}}Hallo{{else}}{{nope}}{{/if}}", /unknown variable "nope"/],
  ["en/body.html", "<a href={{{link}}}>x</a>", /skips HTML escaping/],
])("refuses to start when %s is %p", (file, content, problem) => {
  const dir = overrideDir({ [file]: content });
  const load = () => MailTemplates.load(dir);
  expect(load).toThrow(MailTemplateError);
  expect(load).toThrow(path.join(dir, file));
  expect(load).toThrow(problem);
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("the passkey-added notice", () => {
  const notice = { displayName: "Ada Lovelace", passkeyName: "Pixel 9", addedAt: new Date(0) };

  it("is built in for English and German, without a link", () => {
    const templates = MailTemplates.loadPasskeyNotice();
    expect(templates.languages).toEqual(["de", "en"]);
    const mail = templates.render("de-CH", notice);
    expect(mail.subject).toBe("Ein Passkey wurde zu Ihrem Konto hinzugefügt");
    expect(mail.text).toContain("„Pixel 9“");
    expect(mail.text).toContain("1970-01-01 00:00 UTC");
    expect(mail.html).not.toMatch(/href=/);
  });

  it("is overridden from <language>/passkey-added/, beside the link mail's own files", () => {
    const dir = overrideDir({
      "en/subject.txt": "Your link",
      "en/passkey-added/subject.txt": "New passkey: {{passkeyName}}",
    });
    expect(MailTemplates.loadPasskeyNotice(dir).render("en", notice).subject).toBe(
      "New passkey: Pixel 9",
    );
    expect(MailTemplates.load(dir).render("en", variables()).subject).toBe("Your link");
  });

  it("refuses a variable of the link mail in the notice", () => {
    const dir = overrideDir({ "en/passkey-added/body.txt": "{{link}}" });
    expect(() => MailTemplates.loadPasskeyNotice(dir)).toThrow(/unknown variable "link"/);
  });
});

describe("the clone notice", () => {
  const notice = {
    displayName: "Ada Lovelace",
    passkeyName: "Pixel 9",
    provider: "Google Password Manager",
    detectedAt: new Date(0),
  };

  it("is built in for English and German: which passkey, its provider, when, what to do; no link", () => {
    const templates = MailTemplates.loadPasskeyCloneNotice();
    expect(templates.languages).toEqual(["de", "en"]);
    const en = templates.render("en", notice);
    expect(en.subject).toBe("A passkey of your account may have been copied");
    expect(en.text).toContain("“Pixel 9” (Google Password Manager)");
    expect(en.text).toContain("1970-01-01 00:00 UTC");
    expect(en.text).toContain("remove the passkey");
    const de = templates.render("de-AT", notice);
    expect(de.subject).toBe("Ein Passkey Ihres Kontos wurde möglicherweise kopiert");
    expect(de.text).toContain("„Pixel 9“ (Google Password Manager)");
    expect(de.text).toContain("entfernen Sie den Passkey");
    for (const mail of [en, de]) expect(mail.html).not.toMatch(/href=/);
    // An unknown provider leaves no empty brackets.
    expect(templates.render("en", { ...notice, provider: null }).text).toContain("“Pixel 9” was");
  });

  it("is overridden from <language>/passkey-clone/ and refuses the link mail's variables", () => {
    const dir = overrideDir({ "en/passkey-clone/subject.txt": "Copied? {{passkeyName}}" });
    expect(MailTemplates.loadPasskeyCloneNotice(dir).render("en", notice).subject).toBe(
      "Copied? Pixel 9",
    );
    const bad = overrideDir({ "en/passkey-clone/body.txt": "{{link}}" });
    expect(() => MailTemplates.loadPasskeyCloneNotice(bad)).toThrow(/unknown variable "link"/);
  });
});
