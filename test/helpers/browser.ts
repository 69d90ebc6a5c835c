// Debian's Chromium driven by puppeteer-core, with the DevTools virtual authenticator. Locally the
// browser tests skip when Chromium is missing; on CI (CI=true) they never skip.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, CDPSession, Page } from "puppeteer-core";
import puppeteer from "puppeteer-core";
import type { TestApp } from "./harness";
import { startTestApp } from "./harness";
import { freePort } from "./ports";

// Functions passed to page.evaluate run in the page; the test program itself has no DOM types.
declare const document: any;

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** `describe`, or `describe.skip` when Chromium is missing outside CI. */
export const describeWithBrowser =
  fs.existsSync(CHROMIUM) || process.env.CI === "true" ? describe : describe.skip;

/**
 * startTestApp on a free port of localhost, not 127.0.0.1: the page's host must be the RP ID.
 * `base` is its origin.
 */
export async function startOnLocalhost(
  env: Record<string, string> = {},
  options: Parameters<typeof startTestApp>[1] = {},
): Promise<{ app: TestApp; base: string }> {
  const port = await freePort();
  const base = `http://localhost:${port}`;
  const app = await startTestApp({ PORT: String(port), EXTERNAL_URL: base, ...env }, options);
  return { app, base };
}

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

/** A credential as DevTools reports it (private key included), to put into another authenticator. */
export type StoredCredential = Record<string, unknown>;

export interface VirtualAuthenticator {
  id: string;
  /** Credentials it holds, as DevTools reports them. */
  credentials(): Promise<StoredCredential[]>;
  /** Whether it answers a prompt by itself (a person touching it). */
  setPresence(on: boolean): Promise<void>;
  /**
   * Puts every credential it holds back with this signature counter (DevTools has no setter:
   * getCredentials, removeCredential, addCredential). A lower one acts like a cloned device.
   */
  setSignCount(signCount: number): Promise<void>;
  remove(): Promise<void>;
}

/**
 * A platform authenticator (like Face ID) on `page`, holding `credentials` (e.g. those another
 * page registered); `userVerified: false` fails user verification (a cancelled prompt).
 */
export async function addAuthenticator(
  page: Page,
  options: { credentials?: StoredCredential[]; userVerified?: boolean; presence?: boolean } = {},
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
      automaticPresenceSimulation: options.presence ?? true,
    },
  });
  for (const credential of options.credentials ?? []) {
    await cdp.send("WebAuthn.addCredential", { authenticatorId, credential: credential as any });
  }
  return {
    id: authenticatorId,
    credentials: async () =>
      (await cdp.send("WebAuthn.getCredentials", { authenticatorId }))
        .credentials as unknown as StoredCredential[],
    setSignCount: async (signCount: number) => {
      const { credentials: held } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
      for (const credential of held) {
        await cdp.send("WebAuthn.removeCredential", {
          authenticatorId,
          credentialId: credential.credentialId,
        });
        await cdp.send("WebAuthn.addCredential", {
          authenticatorId,
          credential: { ...credential, signCount },
        });
      }
    },
    setPresence: async (enabled: boolean) => {
      await cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled });
    },
    remove: async () => {
      await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId });
    },
  };
}

/**
 * Registers a passkey named `name` from `link` on `page` with a new authenticator; resolves to
 * its credential (private key included), so other pages' authenticators can hold it.
 */
export async function registerFromLink(
  page: Page,
  link: string,
  name: string,
): Promise<StoredCredential> {
  await page.goto(link, { waitUntil: "load" });
  const authenticator = await addAuthenticator(page);
  await page.$eval("#passkey-name", (input: any) => (input.value = ""));
  await page.type("#passkey-name", name);
  expect(await pressRegister(page)).toBe("success");
  const [credential] = await authenticator.credentials();
  return credential!;
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
