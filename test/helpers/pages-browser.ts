// The sign-in and account pages in Chromium: their outcomes, reading the QR code's pixels, and
// waiting for the pages' states. Authenticators and the browser itself are in ./browser.
import jsQR from "jsqr";
import { PNG } from "pngjs";
import type { Page } from "puppeteer-core";

// Functions passed to page.evaluate run in the page; the test program itself has no DOM types.
declare const document: any;
declare const window: any;
declare const sessionStorage: any;
declare const location: any;

/** body[data-state] once it is one of `states`. */
export async function stateOf(page: Page, states: string[], timeout = 20_000): Promise<string> {
  await page.waitForFunction(
    (wanted: string[]) => wanted.includes(document.body.getAttribute("data-state")),
    { timeout, polling: 100 },
    states,
  );
  return page.evaluate(() => document.body.getAttribute("data-state") ?? "");
}

/** The sign-in page's outcome after an action: "success" or one of its failure messages. */
export const SIGN_IN_OUTCOMES = [
  "success",
  "cancelled",
  "unknown",
  "mismatch",
  "locked",
  "inactive",
  "rate_limited",
  "clone",
  "expired",
  "unsupported",
  "error",
];

/**
 * Presses the sign-in page's button (or does `press`) and resolves to its outcome: "success" once
 * it has moved on to the account page, as it does at once, or the failure it shows.
 */
export async function signInOutcome(page: Page, press: () => Promise<void>): Promise<string> {
  await press();
  const moved = page
    .waitForFunction(() => location.pathname.endsWith("/me"), { polling: 100, timeout: 30_000 })
    .then(() => "success");
  const failed = stateOf(
    page,
    SIGN_IN_OUTCOMES.filter((o) => o !== "success"),
    30_000,
  );
  return Promise.any([moved, failed]);
}

/** Resolves once the page has asked the server for a sign-in challenge. */
export function signInStarted(page: Page): Promise<unknown> {
  return page.waitForResponse(
    (response) =>
      response.url().endsWith("/graphql") &&
      (response.request().postData() ?? "").includes("SignInStart"),
    { timeout: 10_000 },
  );
}

/** The session the page keeps in this tab's sessionStorage, or null. */
export async function storedSession(
  page: Page,
): Promise<{ sessionId: string; sessionToken: string } | null> {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem("passkey-link.session") ?? "null"));
}

/** The names the account page lists, once it has listed them. */
export async function listedNames(page: Page): Promise<string[]> {
  await page.waitForFunction(() => document.querySelector("#passkeys[aria-busy=false]"), {
    polling: 100,
  });
  return page.$$eval(".passkey .passkey-name", (names) => names.map((n: any) => n.textContent));
}

/** Screenshots the QR code element and decodes it; also returns its CSS size. */
export async function readQrCode(page: Page): Promise<{ text: string; cssWidth: number }> {
  const canvas = await page.waitForSelector("#qr-panel:not([hidden]) #qr-code", {
    timeout: 20_000,
  });
  const cssWidth = await page.$eval("#qr-code", (c: any) => c.getBoundingClientRect().width);
  const png = PNG.sync.read(Buffer.from(await canvas!.screenshot({ type: "png" })));
  const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  if (!decoded) throw new Error("the QR code could not be read");
  return { text: decoded.data, cssWidth };
}

/** The page finds no autofill support: only the button starts a prompt. */
export async function withoutAutofill(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(() => {
    window.PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);
  });
}

/** Records the WebAuthn signals the page sends, from before its scripts run. */
export async function recordSignals(page: Page): Promise<void> {
  // Kept in sessionStorage: the sign-in page sends them just before it moves on.
  await page.evaluateOnNewDocument(() => {
    const api = window.PublicKeyCredential;
    for (const name of [
      "signalUnknownCredential",
      "signalAllAcceptedCredentials",
      "signalCurrentUserDetails",
    ]) {
      api[name] = (payload: unknown) => {
        const sent = JSON.parse(sessionStorage.getItem("test.signals") ?? "[]");
        sessionStorage.setItem("test.signals", JSON.stringify([...sent, { name, payload }]));
        return Promise.resolve();
      };
    }
  });
}

export function sentSignals(page: Page): Promise<{ name: string; payload: any }[]> {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem("test.signals") ?? "[]"));
}
