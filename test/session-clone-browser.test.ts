// A cloned passkey in real Chromium (SPEC 18): registered from a link, signed in with on the
// sign-in page, then the virtual authenticator's signature counter is lowered (as a copied
// device's would be) and the next sign-in is refused as a suspected clone: the passkey is
// flagged, the sessions it verified end, and the owner is mailed a notice.
import type { Browser, HTTPResponse, Page } from "puppeteer-core";
import { addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import type { StoredCredential } from "./helpers/browser";
import {
  addAuthenticator,
  describeWithBrowser,
  launchBrowser,
  registerFromLink,
  startOnLocalhost,
} from "./helpers/browser";
import {
  listedNames,
  signInOutcome,
  storedSession,
  withoutAutofill,
} from "./helpers/pages-browser";
import { LIST_PASSKEYS } from "./helpers/passkeys";
import { SmtpSink } from "./helpers/smtp-sink";
import { eventually } from "./helpers/wait";

// Functions passed to page.evaluate run in the page; the test program itself has no DOM types.
declare const document: any;

const ADD_LINK = `mutation($input: AddPasskeyLinkInput) { addPasskeyLink(input: $input) { link } }`;
const SIGN_IN_PATH = "/ui/login/login";
const CLONE_SUBJECT = "A passkey of your account may have been copied";

jest.setTimeout(90_000);

describeWithBrowser("a cloned passkey in Chromium", () => {
  let t: TestApp;
  let sink: SmtpSink;
  let browser: Browser;
  let base: string;
  let org: string;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    ({ app: t, base } = await startOnLocalhost({
      NODE_ENV: "production",
      SMTP_URL: sink.url,
      OUTBOX_POLL_MS: "50",
      SIGNIN_RATE_LIMIT: "1000",
      SIGNIN_FAILURE_LIMIT: "1000",
    }));
    org = await addOrg(t);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await sink?.stop();
  });

  /** The sign-in page, its button only (no autofill), with an authenticator holding `credentials`. */
  async function signInPage(credentials: StoredCredential[]) {
    const page = await browser.newPage();
    await withoutAutofill(page);
    await page.goto(`${base}${SIGN_IN_PATH}`, { waitUntil: "load" });
    const authenticator = await addAuthenticator(page, { credentials });
    const press = () => signInOutcome(page, () => page.click("#sign-in-button"));
    return { page, authenticator, press };
  }

  /** The error IDs of the GraphQL answers `page` receives from now on. */
  function errorIdsOf(page: Page): string[] {
    const ids: string[] = [];
    page.on("response", (response: HTTPResponse) => {
      if (!response.url().endsWith("/graphql")) return;
      void response
        .json()
        .then((body: { errors?: { extensions?: { details?: { id?: string }[] } }[] }) => {
          for (const error of body.errors ?? []) {
            const id = error.extensions?.details?.[0]?.id;
            if (id) ids.push(id);
          }
        })
        .catch(() => undefined);
    });
    return ids;
  }

  it("a lowered signature counter is refused as a clone: flagged, its sessions ended, the owner mailed", async () => {
    const userId = await addHuman(t, org);
    const { username } = (
      await t.ok(`query($id: ID!) { user(id: $id) { username } }`, { id: userId })
    ).user;
    const email = `${username}@example.com`;

    // Registered from a link on the registration page.
    const { link } = (await t.ok(ADD_LINK, { input: { userId } })).addPasskeyLink;
    const registration = await browser.newPage();
    const credential = await registerFromLink(registration, link, "Work laptop");
    await registration.close();

    // Signed in on the sign-in page: the stored counter rises.
    const first = await signInPage([credential]);
    expect(await first.press()).toBe("success");
    await listedNames(first.page);
    const session = (await storedSession(first.page))!;
    expect((await t.gql(`{ me { id } }`, {}, { token: session.sessionToken })).status).toBe(200);
    const [signedIn] = await first.authenticator.credentials();
    const counted = Number(signedIn!.signCount);
    expect(counted).toBeGreaterThan(0);

    // The same credential on another device whose counter is behind: a copy.
    const copy = await signInPage([signedIn!]);
    await copy.authenticator.setSignCount(0);
    expect(Number((await copy.authenticator.credentials())[0]!.signCount)).toBe(0);
    const errors = errorIdsOf(copy.page);
    expect(await copy.press()).toBe("clone");
    await eventually("the clone error", () =>
      errors.includes("SESSION-webauthn-clone") ? true : undefined,
    );
    expect(await storedSession(copy.page)).toBeNull();

    const passkeys = (await t.ok(LIST_PASSKEYS, { userId })).passkeys;
    expect(passkeys).toHaveLength(1);
    const [flagged] = (
      await t.ok(`query($userId: ID!) { passkeys(userId: $userId) { name cloneWarning } }`, {
        userId,
      })
    ).passkeys;
    expect(flagged).toEqual({ name: "Work laptop", cloneWarning: true });
    // The session the passkey verified has ended.
    expect((await t.gql(`{ me { id } }`, {}, { token: session.sessionToken })).status).toBe(401);

    const [mail] = await eventually("the clone notice", () => {
      const mails = sink.mails.filter((m) => m.to.includes(email) && m.subject === CLONE_SUBJECT);
      return mails.length > 0 ? mails : undefined;
    });
    expect(mail!.text).toContain("“Work laptop”");
    expect(mail!.text).toContain("remove the passkey");
    expect(mail!.text).not.toContain(session.sessionToken);

    // The refused side may be the genuine device: a rising counter still signs in, and the
    // account page shows the warning so that the user decides.
    await copy.authenticator.setSignCount(counted + 10);
    expect(await copy.press()).toBe("success");
    expect(await listedNames(copy.page)).toEqual(["Work laptop"]);
    expect(await copy.page.$$eval(".passkey .warning", (notes) => notes.length)).toBe(1);
    expect(
      await copy.page.evaluate(() => document.querySelector(".passkey .warning")?.textContent),
    ).toBeTruthy();
    await first.page.close();
    await copy.page.close();
  });
});
