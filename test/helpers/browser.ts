// Debian's Chromium driven by puppeteer-core, with the DevTools virtual authenticator. Locally the
// browser tests skip when Chromium is missing; on CI (CI=true) they never skip.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, CDPSession, Page } from "puppeteer-core";
import puppeteer from "puppeteer-core";

// Functions passed to page.evaluate run in the page; the test program itself has no DOM types.
declare const document: any;

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** `describe`, or `describe.skip` when Chromium is missing outside CI. */
export const describeWithBrowser =
  fs.existsSync(CHROMIUM) || process.env.CI === "true" ? describe : describe.skip;

export async function launchBrowser(): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "plk-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
    ],
  });
  // Chromium may still be writing its profile when it disconnects: remove it in the background.
  browser.once("disconnected", () =>
    fs.rm(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }, () => {}),
  );
  return browser;
}

export interface VirtualAuthenticator {
  id: string;
  /** Credentials it holds, as DevTools reports them. */
  credentials(): Promise<{ rpId?: string; userHandle?: string }[]>;
  remove(): Promise<void>;
}

/** A platform authenticator (like Face ID) on `page`; `userVerified: false` fails UV. */
export async function addAuthenticator(
  page: Page,
  options: { userVerified?: boolean } = {},
): Promise<VirtualAuthenticator> {
  const cdp: CDPSession = await page.createCDPSession();
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: options.userVerified ?? true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    id: authenticatorId,
    credentials: async () =>
      (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials,
    remove: async () => {
      await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId });
    },
  };
}

/** Presses the page's button and resolves to the outcome the page shows (body[data-state]). */
export async function pressRegister(page: Page): Promise<string> {
  await page.click("#register-button");
  await page.waitForFunction(
    () => {
      const state = document.body.getAttribute("data-state");
      return state !== null && state !== "working";
    },
    { timeout: 20_000 },
  );
  return page.evaluate(() => document.body.getAttribute("data-state") ?? "");
}

/** The text of the message the page shows now. */
export function visibleMessage(page: Page): Promise<string> {
  return page.evaluate(() => {
    const shown = [...document.querySelectorAll("#status p")].find((p: any) => !p.hidden);
    return shown?.textContent ?? "";
  });
}
