// The registration page in a real browser: Debian's Chromium with a DevTools virtual
// authenticator, against the real server on localhost (the RP ID), as a person would use a link.
import type { Browser, Page } from "puppeteer-core";
import { addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { expectError, startTestApp } from "./helpers/harness";
import {
  addAuthenticator,
  describeWithBrowser,
  launchBrowser,
  pressRegister,
  startOnLocalhost,
  visibleMessage,
} from "./helpers/browser";
import { codeOf, linkInText, listCodes, mailsTo } from "./helpers/passkey-mail";
import { LIST_PASSKEYS, REGISTER, VERIFY, registerPasskey } from "./helpers/passkeys";
import { freePort } from "./helpers/ports";
import { SmtpSink } from "./helpers/smtp-sink";
import { eventually } from "./helpers/wait";

// Functions passed to page.evaluate run in the page; the test program itself has no DOM types.
declare const document: any;
declare const window: any;

const ADD_LINK = `mutation($input: AddPasskeyLinkInput) { addPasskeyLink(input: $input) { link } }`;
const SEND_LINK = `mutation($input: CreatePasskeyRegistrationLinkInput!) { createPasskeyRegistrationLink(input: $input) { details { sequence } } }`;
const REVOKE = `mutation($input: RevokePasskeyRegistrationCodeInput!) { revokePasskeyRegistrationCode(input: $input) { details { sequence } } }`;

describeWithBrowser("the registration page in Chromium", () => {
  let t: TestApp;
  /** Another deployment of the page on the same database, reached through a urlTemplate. */
  let other: TestApp;
  let sink: SmtpSink;
  let browser: Browser;
  let org: string;
  let base: string;
  let otherOrigin: string;

  beforeAll(async () => {
    const otherPort = await freePort();
    otherOrigin = `http://localhost:${otherPort}`;
    sink = await SmtpSink.start();
    ({ app: t, base } = await startOnLocalhost({
      SMTP_URL: sink.url,
      OUTBOX_POLL_MS: "50",
      LINK_ALLOWED_ORIGINS: otherOrigin,
    }));
    other = await startTestApp(
      { PORT: String(otherPort), EXTERNAL_URL: otherOrigin, SMTP_URL: sink.url },
      { database: t.database },
    );
    org = await addOrg(t);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await other?.close();
    await t?.close();
    await sink?.stop();
  });

  /** A human user and a link minted for it by the administrator. */
  async function userWithLink(fields: Record<string, unknown> = {}) {
    const userId = await addHuman(t, org, fields);
    const link: string = (await t.ok(ADD_LINK, { input: { userId } })).addPasskeyLink.link;
    return { userId, link, ...codeOf(link) };
  }

  async function openPage(link: string, language = "en"): Promise<Page> {
    const page = await browser.newPage();
    await page.setExtraHTTPHeaders({ "accept-language": language });
    const response = await page.goto(link, { waitUntil: "load" });
    expect(response?.status()).toBe(200);
    return page;
  }

  const passkeysOf = async (userId: string) => (await t.ok(LIST_PASSKEYS, { userId })).passkeys;
  const codeRow = async (codeId: string) =>
    (
      await t.app.services.db.read((db) =>
        db.query<{ state: string; failed_checks: number }[]>(
          "SELECT state, failed_checks FROM passkey_codes WHERE id = ?",
          [codeId],
        ),
      )
    )[0]!;
  const eventCount = async (userId: string) =>
    (
      await t.app.services.db.read((db) =>
        db.query<{ n: number | string }[]>(
          "SELECT COUNT(*) AS n FROM events WHERE aggregate_id = ?",
          [userId],
        ),
      )
    )[0]!.n;

  it("a link minted by the API registers a passkey that passkeys lists; the code is USED", async () => {
    const { userId, link, codeId, code } = await userWithLink();
    expect(new URL(link).origin).toBe(base);
    const page = await openPage(link);
    const requested: string[] = [];
    page.on("request", (request) => requested.push(request.url()));
    const authenticator = await addAuthenticator(page);
    expect(await page.$eval("#passkey-name", (input) => (input as any).value)).toMatch(
      /^My passkey/,
    );
    await page.$eval("#passkey-name", (input) => ((input as any).value = ""));
    await page.type("#passkey-name", "Work laptop");
    expect(await pressRegister(page)).toBe("success");
    expect(await visibleMessage(page)).toContain("your passkey is registered");

    const [passkey, ...others] = await passkeysOf(userId);
    expect(others).toEqual([]);
    expect(passkey).toMatchObject({ name: "Work laptop", registeredWithCodeId: codeId });
    expect((await codeRow(codeId)).state).toBe("USED");
    const credentials = await authenticator.credentials();
    expect(credentials).toHaveLength(1);
    expect(credentials[0]!.rpId).toBe("localhost");
    // Every request of the page went to this server.
    expect(requested.every((url) => url.startsWith(`${base}/`))).toBe(true);
    expect(t.logs.join("")).not.toContain(code);
    await page.close();
  });

  it("loads every asset from this server, with the security headers", async () => {
    const { link } = await userWithLink();
    const page = await browser.newPage();
    const loaded: { url: string; headers: Record<string, string> }[] = [];
    page.on("response", (response) =>
      loaded.push({ url: response.url(), headers: response.headers() }),
    );
    await page.goto(link, { waitUntil: "load" });
    expect(loaded.length).toBeGreaterThanOrEqual(4);
    for (const { url, headers } of loaded) {
      expect(url.startsWith(`${base}/ui/`)).toBe(true);
      expect(headers["cache-control"]).toBe("no-store");
      expect(headers["referrer-policy"]).toBe("no-referrer");
      expect(headers["x-robots-tag"]).toContain("noindex");
      expect(headers["content-security-policy"]).toContain("default-src 'self'");
      expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
      expect(headers["content-security-policy"]).not.toContain("unsafe-inline");
    }
    // No inline script: the CSP would block it, and the page has none.
    expect(await page.$$eval("script:not([src])", (scripts) => scripts.length)).toBe(0);
    await page.close();
  });

  it("opening the link changes nothing: the code stays ACTIVE with no failed check and no event", async () => {
    const { userId, link, codeId } = await userWithLink();
    const events = await eventCount(userId);
    // A mail scanner's fetch, then a person who opens the page and leaves without pressing.
    expect((await fetch(link)).status).toBe(200);
    const page = await openPage(link);
    await page.close();
    expect(await codeRow(codeId)).toEqual({ state: "ACTIVE", failed_checks: 0 });
    expect(await eventCount(userId)).toEqual(events);
  });

  it("a failed ceremony leaves the link usable, and a retry on the same page succeeds", async () => {
    const { userId, link, codeId } = await userWithLink();
    const page = await openPage(link);
    const withoutVerification = await addAuthenticator(page, { userVerified: false });
    expect(await pressRegister(page)).toBe("cancelled");
    expect(await visibleMessage(page)).toContain("this link still works");
    expect((await codeRow(codeId)).state).toBe("ACTIVE");
    expect(await passkeysOf(userId)).toEqual([]);

    await withoutVerification.remove();
    await addAuthenticator(page);
    expect(await pressRegister(page)).toBe("success");
    expect(await passkeysOf(userId)).toHaveLength(1);
    await page.close();
  });

  it("the same link a second time tells the user it was used", async () => {
    const { link } = await userWithLink();
    const first = await openPage(link);
    await addAuthenticator(first);
    expect(await pressRegister(first)).toBe("success");
    await first.close();

    const second = await openPage(link);
    await addAuthenticator(second);
    expect(await pressRegister(second)).toBe("used");
    expect(await visibleMessage(second)).toContain("already used");
    await second.close();
  });

  it("a revoked link says so, in German for a German browser", async () => {
    const { userId, link, codeId } = await userWithLink();
    await t.ok(REVOKE, { input: { userId, codeId } });
    const page = await openPage(link, "de-DE,de;q=0.9,en;q=0.5");
    expect(await page.$eval("html", (html) => html.lang)).toBe("de");
    expect(await page.$eval("#register-button", (button) => button.textContent)).toBe(
      "Passkey einrichten",
    );
    await addAuthenticator(page);
    expect(await pressRegister(page)).toBe("revoked");
    expect(await visibleMessage(page)).toContain("widerrufen");
    await page.close();
  });

  it("a link tried too often says it is locked, and an expired one says it expired", async () => {
    const tried = await userWithLink();
    const code = { id: tried.codeId, code: tried.code };
    // 20 opened registrations, as 20 cancelled prompts would leave behind.
    for (let i = 0; i < 20; i++) {
      expect((await registerPasskey(t, tried.userId, code)).errors).toBeUndefined();
    }
    const locked = await openPage(tried.link);
    await addAuthenticator(locked);
    expect(await pressRegister(locked)).toBe("locked_out");
    expect(await visibleMessage(locked)).toContain("locked after too many attempts");
    await locked.close();
    expect((await codeRow(tried.codeId)).state).toBe("LOCKED_OUT");

    const late = await userWithLink();
    t.clock.advance(3_601_000);
    try {
      const page = await openPage(late.link);
      await addAuthenticator(page);
      expect(await pressRegister(page)).toBe("expired");
      expect(await visibleMessage(page)).toContain("expired");
      await page.close();
    } finally {
      t.clock.advance(-3_601_000);
    }
  });

  it("two authenticators give two passkeys", async () => {
    const userId = await addHuman(t, org);
    const page = await browser.newPage();
    for (const name of ["Phone", "Security key"]) {
      const { link } = (await t.ok(ADD_LINK, { input: { userId } })).addPasskeyLink;
      await page.goto(link, { waitUntil: "load" });
      const authenticator = await addAuthenticator(page);
      await page.$eval("#passkey-name", (input) => ((input as any).value = ""));
      await page.type("#passkey-name", name);
      expect(await pressRegister(page)).toBe("success");
      await authenticator.remove();
    }
    expect((await passkeysOf(userId)).map((passkey: { name: string }) => passkey.name)).toEqual([
      "Phone",
      "Security key",
    ]);
    await page.close();
  });

  it("the emailed link works from a custom urlTemplate on an allowed origin, and the notice arrives", async () => {
    const userId = await addHuman(t, org, { preferredLanguage: "de" });
    const email = (await t.ok(`query($id: ID!) { user(id: $id) { email } }`, { id: userId })).user
      .email;
    await t.ok(SEND_LINK, {
      input: {
        userId,
        sendLink: {
          urlTemplate: `${otherOrigin}/ui/login/login/passwordless/init?userID={{.UserID}}&orgID={{.OrgID}}&codeID={{.CodeID}}&code={{.Code}}`,
        },
      },
    });
    const [mail] = await eventually("the link mail", () => {
      const received = mailsTo(sink.mails, email);
      return received.length > 0 ? received : undefined;
    });
    const { link, code } = linkInText(mail!.text);
    expect(new URL(link).origin).toBe(otherOrigin);
    const page = await openPage(link, "de");
    await addAuthenticator(page);
    expect(await pressRegister(page)).toBe("success");
    expect(await passkeysOf(userId)).toHaveLength(1);
    const notice = await eventually("the notice", () =>
      mailsTo(sink.mails, email).find((m) => m.subject.includes("Passkey wurde")),
    );
    expect(notice.text).toContain("Mein Passkey");
    expect(notice.text).not.toContain(code);
    expect(t.logs.join("")).not.toContain(code);
    await page.close();
  });

  it("a response from another origin, a replayed response and a response for another challenge are refused", async () => {
    const { userId, link, codeId, code } = await userWithLink();
    const page = await openPage(link);
    await addAuthenticator(page);
    const open = async (server = t) => {
      const opened = await server.gql(
        REGISTER,
        { input: { userId, code: { id: codeId, code } } },
        { token: null },
      );
      return opened.data.registerPasskey;
    };
    /** The browser's own response (PublicKeyCredential.toJSON()) to `options`. */
    const ceremony = (options: unknown) =>
      page.evaluate(
        (optionsJSON) =>
          window.SimpleWebAuthnBrowser.startRegistration({
            optionsJSON,
          }) as Promise<unknown>,
        options as any,
      );
    const verify = (passkeyId: string, publicKeyCredential: unknown, server = t) =>
      server.gql(
        VERIFY,
        { input: { userId, passkeyId, publicKeyCredential, passkeyName: "Phone" } },
        { token: null },
      );

    // The other deployment accepts only its own origin; this page runs on the first one's.
    const elsewhere = await open(other);
    const fromHere = await ceremony(elsewhere.publicKeyCredentialCreationOptions.publicKey);
    const refused = expectError(
      await verify(elsewhere.passkeyId, fromHere, other),
      "INVALID_ARGUMENT",
      "PASSKEY-verification-failed",
    );
    expect(refused.message).toContain("origin");

    const first = await open();
    const second = await open();
    const forFirst = await ceremony(first.publicKeyCredentialCreationOptions.publicKey);
    expectError(
      await verify(second.passkeyId, forFirst),
      "INVALID_ARGUMENT",
      "PASSKEY-verification-failed",
    );
    expect((await codeRow(codeId)).state).toBe("ACTIVE");

    const third = await open();
    const response = await ceremony(third.publicKeyCredentialCreationOptions.publicKey);
    expect((await verify(third.passkeyId, response)).errors).toBeUndefined();
    expectError(
      await verify(third.passkeyId, response),
      "FAILED_PRECONDITION",
      "PASSKEY-registration-ended",
    );
    expect(await passkeysOf(userId)).toHaveLength(1);
    expect((await listCodes(t, userId))[0]!.state).toBe("USED");
    await page.close();
  });

  it("a browser without passkey support is told so before anything is sent", async () => {
    const { userId, link } = await userWithLink();
    const events = await eventCount(userId);
    const page = await browser.newPage();
    await page.evaluateOnNewDocument(() => {
      delete window.PublicKeyCredential;
    });
    await page.goto(link, { waitUntil: "load" });
    expect(await page.evaluate(() => document.body.getAttribute("data-state"))).toBe("unsupported");
    expect(await page.$eval("#register-button", (b) => (b as any).disabled)).toBe(true);
    expect(await eventCount(userId)).toEqual(events);
    await page.close();
  });
});
