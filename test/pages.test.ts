// The sign-in and account pages (SPEC 19) in a real browser: Debian's Chromium with DevTools
// virtual authenticators, against the real server on localhost (the RP ID), as a person uses them:
// a passkey from a link, sign in, add a phone by its QR code, remove it, sign out.
import fs from "node:fs";
import path from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import type { StoredCredential } from "./helpers/browser";
import {
  addAuthenticator,
  describeWithBrowser,
  launchBrowser,
  pressRegister,
  registerFromLink,
  startOnLocalhost,
  visibleMessage,
} from "./helpers/browser";
import {
  SIGN_IN_OUTCOMES,
  listedNames,
  readQrCode,
  recordSignals,
  sentSignals,
  signInOutcome,
  signInStarted,
  stateOf,
  storedSession,
  withoutAutofill,
} from "./helpers/pages-browser";
import { LIST_PASSKEYS, REMOVE_PASSKEY } from "./helpers/passkeys";
import { eventually } from "./helpers/wait";

// Functions passed to page.evaluate run in the page; the test program itself has no DOM types.
declare const document: any;
declare const window: any;
declare const location: any;

const ADD_LINK = `mutation($input: AddPasskeyLinkInput) { addPasskeyLink(input: $input) { link } }`;
const SIGN_IN_PATH = "/ui/login/login";
const ACCOUNT_PATH = "/ui/console/users/me";
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 1 };
/** UPDATE_SCREENSHOTS=1 writes the README's screenshots of both pages to docs/. */
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === "1";

// A browser on a busy 2-core machine: sign-in, QR code and a second registration take a while.
jest.setTimeout(90_000);

describeWithBrowser("the sign-in and account pages in Chromium", () => {
  let t: TestApp;
  let browser: Browser;
  let org: string;
  let base: string;

  beforeAll(async () => {
    ({ app: t, base } = await startOnLocalhost({
      NODE_ENV: "production",
      MASTER_KEY: Buffer.alloc(32, 7).toString("base64"),
      // Every page load asks for a challenge: the file's tests together exceed the defaults.
      SIGNIN_RATE_LIMIT: "1000",
      SIGNIN_FAILURE_LIMIT: "1000",
    }));
    org = await addOrg(t);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const passkeysOf = async (userId: string): Promise<{ id: string; name: string }[]> =>
    (await t.ok(LIST_PASSKEYS, { userId })).passkeys;
  const usernameOf = async (userId: string): Promise<string> =>
    (await t.ok(`query($id: ID!) { user(id: $id) { username } }`, { id: userId })).user.username;

  async function newPage(language = "en", viewport = DESKTOP): Promise<Page> {
    const page = await browser.newPage();
    await page.setViewport(viewport);
    await page.setExtraHTTPHeaders({ "accept-language": language });
    return page;
  }

  /**
   * A user with one passkey, registered from a link on a page of its own; returns the
   * credential (private key included) so other pages' authenticators can hold it.
   */
  async function userWithPasskey(
    name = "Windows Hello",
    organizationId = org,
  ): Promise<{ userId: string; credential: StoredCredential }> {
    const userId = await addHuman(t, organizationId, { displayName: "Ada <b>Lovelace</b>" });
    const { link } = (await t.ok(ADD_LINK, { input: { userId } })).addPasskeyLink;
    const page = await newPage();
    const credential = await registerFromLink(page, link, name);
    await page.close();
    return { userId, credential };
  }

  interface SignInPage {
    page: Page;
    /** Presses the button; resolves to the page's outcome (after the move, for "success"). */
    press: () => Promise<string>;
    /** The same, with another way of pressing it (e.g. the keyboard). */
    pressWith: (press: () => Promise<void>) => Promise<string>;
  }

  /**
   * The sign-in page with an authenticator holding `credentials`. The page finds no autofill
   * support, so a virtual authenticator cannot answer an autofill request by itself: only the
   * button's prompt signs in (the autofill test covers autofill).
   */
  async function signInPage(
    credentials: StoredCredential[],
    options: { language?: string; userVerified?: boolean; viewport?: typeof DESKTOP } = {},
  ): Promise<SignInPage> {
    const page = await newPage(options.language, options.viewport);
    await recordSignals(page);
    await withoutAutofill(page);
    await page.goto(`${base}${SIGN_IN_PATH}`, { waitUntil: "load" });
    await addAuthenticator(page, { credentials, userVerified: options.userVerified });
    return {
      page,
      press: () => signInOutcome(page, () => page.click("#sign-in-button")),
      pressWith: (press) => signInOutcome(page, press),
    };
  }

  async function signedIn(credential: StoredCredential, viewport = DESKTOP): Promise<Page> {
    const { page, press } = await signInPage([credential], { viewport });
    expect(await press()).toBe("success");
    await listedNames(page);
    return page;
  }

  it("serves both pages statically with the security headers, no cookie, no inline script; GET changes nothing", async () => {
    for (const pagePath of [SIGN_IN_PATH, ACCOUNT_PATH]) {
      const response = await fetch(`${base}${pagePath}`, { headers: { "accept-language": "de" } });
      expect(response.status).toBe(200);
      const html = await response.text();
      expect(html).toContain('<html lang="de">');
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
      expect(response.headers.get("set-cookie")).toBeNull();
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      const csp = response.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("require-trusted-types-for 'script'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain("unsafe-inline");
    }
    const sessions = async () =>
      (
        await t.app.services.db.read((db) =>
          db.query<{ n: number | string }[]>("SELECT COUNT(*) AS n FROM sessions"),
        )
      )[0]!.n;
    const before = await sessions();
    await fetch(`${base}${SIGN_IN_PATH}`);
    await fetch(`${base}${ACCOUNT_PATH}`);
    expect(await sessions()).toEqual(before);
    const qrcode = await fetch(`${base}/ui/assets/qrcode.js`);
    expect(qrcode.headers.get("content-type")).toContain("javascript");
    expect(await qrcode.text()).toContain("qrcode 1.5.4");
  });

  it("the account page without a session goes to the sign-in page", async () => {
    const page = await newPage();
    await page.goto(`${base}${ACCOUNT_PATH}`, { waitUntil: "load" });
    await page.waitForFunction(() => location.pathname === "/ui/login/login", { polling: 100 });
    await page.close();
  });

  it("the registration page's success message links to the sign-in page", async () => {
    const userId = await addHuman(t, org);
    const { link } = (await t.ok(ADD_LINK, { input: { userId } })).addPasskeyLink;
    const page = await newPage();
    await page.goto(link, { waitUntil: "load" });
    await addAuthenticator(page);
    expect(await pressRegister(page)).toBe("success");
    const href = await page.$eval('[data-outcome="success"] a', (a: any) => a.href);
    expect(href).toBe(`${base}${SIGN_IN_PATH}`);
    await page.close();
  });

  it("signs in with the button, adds a phone by its QR code, lists it without a reload, removes it, signs out", async () => {
    const { userId, credential } = await userWithPasskey();
    const { page, press } = await signInPage([credential]);
    const requested: string[] = [];
    page.on("request", (request) => requested.push(request.url()));
    expect(await press()).toBe("success");
    expect(await listedNames(page)).toEqual(["Windows Hello"]);
    // The display name is text, never markup.
    expect(await page.$eval("#display-name", (e: any) => e.textContent)).toBe(
      "Ada <b>Lovelace</b>",
    );
    expect(await page.$$eval("#display-name b", (bold) => bold.length)).toBe(0);
    const session = (await storedSession(page))!;
    expect(session.sessionToken).toMatch(/^pls_/);
    expect(await page.evaluate(() => document.cookie)).toBe("");
    expect(page.url()).toBe(`${base}${ACCOUNT_PATH}`);
    // The signals of the sign-in were sent before the page moved on.
    await page.evaluate(() => (window.stillHere = true));

    if (SCREENSHOTS) await page.screenshot({ path: docsImage("account-desktop.png") });
    await page.click("#add-device");
    const qr = await readQrCode(page);
    expect(qr.cssWidth).toBeGreaterThanOrEqual(256);
    expect(qr.text.startsWith(`${base}/ui/login/login/passwordless/init?`)).toBe(true);
    if (SCREENSHOTS) await page.screenshot({ path: docsImage("account-qr-desktop.png") });

    // The phone: another page with its own authenticator opens the decoded link.
    const phone = await newPage("en", PHONE);
    await phone.goto(qr.text, { waitUntil: "load" });
    const phoneAuthenticator = await addAuthenticator(phone);
    await phone.$eval("#passkey-name", (input: any) => (input.value = ""));
    await phone.type("#passkey-name", "Phone");
    expect(await pressRegister(phone)).toBe("success");
    expect(await phoneAuthenticator.credentials()).toHaveLength(1);
    await phone.close();

    // Listed by the polling, without a reload; the used code's QR is gone.
    await page.waitForFunction(() => document.querySelectorAll(".passkey").length === 2, {
      timeout: 15_000,
      polling: 100,
    });
    expect(await listedNames(page)).toEqual(["Windows Hello", "Phone"]);
    expect(await page.evaluate(() => window.stillHere)).toBe(true);
    expect(await page.$eval("#qr-panel", (panel: any) => panel.hidden)).toBe(true);
    expect(await stateOf(page, ["passkey_added"])).toBe("passkey_added");

    // Remove the phone's passkey, confirming once.
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    const phoneItem = (await page.$$(".passkey"))[1]!;
    await (await phoneItem.$("button"))!.click();
    expect(await stateOf(page, ["removed", "error"])).toBe("removed");
    expect(dialogs).toHaveLength(1);
    expect(dialogs[0]).toContain("Phone");
    expect(await listedNames(page)).toEqual(["Windows Hello"]);
    expect((await passkeysOf(userId)).map((p) => p.name)).toEqual(["Windows Hello"]);

    // Every request went to this server; the token travelled in no URL.
    expect(requested.every((url) => url.startsWith(`${base}/`))).toBe(true);
    expect(requested.some((url) => url.includes(session.sessionToken))).toBe(false);

    await page.click("#sign-out");
    await page.waitForFunction(() => location.pathname === "/ui/login/login", { polling: 100 });
    expect(await stateOf(page, ["signed_out"])).toBe("signed_out");
    expect(await storedSession(page)).toBeNull();
    const refused = await t.gql(`{ me { id } }`, {}, { token: session.sessionToken });
    expect(refused.status).toBe(401);
    expect(refused.errors![0]!.extensions.code).toBe("UNAUTHENTICATED");
    const logs = t.logs.join("");
    expect(logs).not.toContain(session.sessionToken);
    expect(logs).not.toContain(new URL(qr.text).searchParams.get("code")!);
    await page.close();
  });

  it("username-first: the typed username is sent, and that user's passkey signs in", async () => {
    // An anonymous page's login name is looked up in the instance's default organization.
    const defaultOrg: string = (await t.ok(`{ me { organizationId } }`)).me.organizationId;
    const { userId, credential } = await userWithPasskey("Windows Hello", defaultOrg);
    const { page, press } = await signInPage([credential]);
    await page.type("#username", await usernameOf(userId));
    const sent: string[] = [];
    page.on("request", (request) => sent.push(request.postData() ?? ""));
    expect(await press()).toBe("success");
    const start = sent.find((body) => body.includes("SignInStart") && body.includes("loginName"));
    expect(JSON.parse(start!).variables.input.checks.user.loginName).toBe(await usernameOf(userId));
    const signals = await sentSignals(page);
    expect(signals.map((s) => s.name)).toEqual(
      expect.arrayContaining(["signalAllAcceptedCredentials", "signalCurrentUserDetails"]),
    );
    await page.close();
  });

  it("the browser's autofill signs in with the passkey offered in the username field", async () => {
    const { credential } = await userWithPasskey();
    const page = await newPage();
    await page.goto(`${base}${SIGN_IN_PATH}`, { waitUntil: "domcontentloaded" });
    // The virtual authenticator answers the pending conditional request by itself.
    await addAuthenticator(page, { credentials: [credential] });
    await page.reload({ waitUntil: "load" });
    await page.waitForFunction(() => location.pathname.endsWith("/me"), {
      timeout: 20_000,
      polling: 100,
    });
    expect(await storedSession(page)).not.toBeNull();
    await page.close();
  });

  it("works with the keyboard alone: Tab to the button, Enter", async () => {
    const { credential } = await userWithPasskey();
    const { page, pressWith } = await signInPage([credential]);
    const outcome = await pressWith(async () => {
      for (let i = 0; i < 5; i++) {
        await page.keyboard.press("Tab");
        if (await page.evaluate(() => document.activeElement?.id === "sign-in-button")) break;
      }
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe(
        "Sign in with a passkey",
      );
      await page.keyboard.press("Enter");
    });
    expect(outcome).toBe("success");
    await page.close();
  });

  it("is readable on a 390 px phone: no horizontal scroll, and the QR code stays at least 256 px wide", async () => {
    const { credential } = await userWithPasskey();
    const { page, press } = await signInPage([credential], { viewport: PHONE });
    const fits = () =>
      page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    expect(await fits()).toBe(true);
    if (SCREENSHOTS) await page.screenshot({ path: docsImage("sign-in-phone.png") });
    expect(await press()).toBe("success");
    await listedNames(page);
    expect(await fits()).toBe(true);
    await page.click("#add-device");
    const qr = await readQrCode(page);
    expect(qr.cssWidth).toBeGreaterThanOrEqual(256);
    expect(await fits()).toBe(true);
    if (SCREENSHOTS) await page.screenshot({ path: docsImage("account-phone.png") });
    await page.close();
  });

  it("a cancelled prompt says to try again, in German for a German browser", async () => {
    const { credential } = await userWithPasskey();
    const { page, press } = await signInPage([credential], { language: "de", userVerified: false });
    expect(await page.$eval("#sign-in-button", (b: any) => b.textContent)).toBe(
      "Mit einem Passkey anmelden",
    );
    if (SCREENSHOTS) {
      await page.setViewport(DESKTOP);
      await page.screenshot({ path: docsImage("sign-in-desktop-de.png") });
    }
    expect(await press()).toBe("cancelled");
    expect(await visibleMessage(page)).toContain("Versuchen Sie es erneut");
    expect(await storedSession(page)).toBeNull();
    await page.close();
  });

  it("a removed passkey is reported as unknown and signalled to the browser", async () => {
    const { userId, credential } = await userWithPasskey();
    const [passkey] = await passkeysOf(userId);
    await t.ok(REMOVE_PASSKEY, { input: { userId, passkeyId: passkey!.id } });
    const { page, press } = await signInPage([credential]);
    expect(await press()).toBe("unknown");
    expect(await visibleMessage(page)).toContain("no longer registered");
    const unknown = (await sentSignals(page)).find((s) => s.name === "signalUnknownCredential");
    expect(unknown?.payload).toEqual({ rpId: "localhost", credentialId: expect.any(String) });
    expect(unknown!.payload.credentialId).toBe(
      Buffer.from(credential.credentialId as string, "base64").toString("base64url"),
    );
    await page.close();
  });

  it("another account's passkey after a typed username is refused as another account's", async () => {
    const { credential } = await userWithPasskey();
    const other = await addHuman(t, org);
    const { page, press } = await signInPage([credential]);
    await page.type("#username", await usernameOf(other));
    expect(await press()).toBe("mismatch");
    expect(await visibleMessage(page)).toContain("belongs to another account");
    await page.close();
  });

  it("a locked account and a deactivated account say so", async () => {
    for (const [mutation, outcome, text] of [
      ["lockUser", "locked", "locked"],
      ["deactivateUser", "inactive", "deactivated"],
    ] as const) {
      const { userId, credential } = await userWithPasskey();
      await t.ok(
        `mutation($input: UserIdInput!) { ${mutation}(input: $input) { details { sequence } } }`,
        { input: { userId } },
      );
      const { page, press } = await signInPage([credential]);
      expect(await press()).toBe(outcome);
      expect(await visibleMessage(page)).toContain(text);
      await page.close();
    }
  });

  it("a credential action after SESSION_REAUTH_SECONDS asks for the passkey again, then goes on", async () => {
    const { credential } = await userWithPasskey();
    const page = await signedIn(credential);
    const bodies: string[] = [];
    page.on("request", (request) => bodies.push(request.postData() ?? ""));
    t.clock.advance(301_000);
    try {
      await page.click("#add-device");
      const qr = await readQrCode(page);
      expect(qr.text).toContain("/ui/login/login/passwordless/init?");
      expect(bodies.some((body) => body.includes("AccountChallenge"))).toBe(true);
      expect(bodies.some((body) => body.includes("AccountCheck"))).toBe(true);
    } finally {
      t.clock.advance(-301_000);
    }
    await page.close();
  });

  it("removing the last passkey needs a second confirmation, and a dismissed one removes nothing", async () => {
    const { userId, credential } = await userWithPasskey();
    const page = await signedIn(credential);
    const answers = [true, false];
    page.on("dialog", (dialog) => void (answers.shift() ? dialog.accept() : dialog.dismiss()));
    await page.$eval(".passkey button", (button: any) => button.click());
    await eventually("both dialogs", () => (answers.length === 0 ? true : undefined));
    expect(await passkeysOf(userId)).toHaveLength(1);

    answers.push(true, true);
    await page.$eval(".passkey button", (button: any) => button.click());
    // Removing the passkey this session signed in with ends the session (SPEC 18): the page
    // goes back to the sign-in page and says so.
    await page.waitForFunction(() => location.pathname === "/ui/login/login", { polling: 100 });
    expect(await stateOf(page, ["session_ended"])).toBe("session_ended");
    expect(await passkeysOf(userId)).toEqual([]);
    await page.close();
  });
});

describeWithBrowser("the sign-in page when sign-ins come too fast", () => {
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    ({ app: t } = await startOnLocalhost({ SIGNIN_RATE_LIMIT: "2" }));
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it("says there were too many attempts", async () => {
    const page = await browser.newPage();
    const autofill = signInStarted(page);
    await page.goto(new URL(SIGN_IN_PATH, t.config.externalUrl).href, { waitUntil: "load" });
    await autofill;
    await addAuthenticator(page, { userVerified: false });
    let outcome = "";
    for (let i = 0; i < 3 && outcome !== "rate_limited"; i++) {
      await page.click("#sign-in-button");
      outcome = await stateOf(page, SIGN_IN_OUTCOMES);
    }
    expect(outcome).toBe("rate_limited");
    expect(await visibleMessage(page)).toContain("Too many sign-in attempts");
    await page.close();
  });
});

function docsImage(name: string): string {
  const docs = path.join(__dirname, "..", "docs");
  fs.mkdirSync(docs, { recursive: true });
  return path.join(docs, name);
}
