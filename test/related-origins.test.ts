// Related origins (SPEC 18, WebAuthn related origin requests): WEBAUTHN_RELATED_ORIGINS is checked
// at start-up entry by entry, served at /.well-known/webauthn, and accepted in registrations.
import { spawnSync } from "node:child_process";
import path from "node:path";
import type { ConfigError } from "../src/config";
import { loadConfig } from "../src/config";
import { addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { expectError, startTestApp } from "./helpers/harness";
import {
  LIST_PASSKEYS,
  registerPasskey,
  registerWithCode,
  returnedCode,
  softAuthenticatorFor,
  verifyPasskey,
} from "./helpers/passkeys";

const SHOP = "https://shop.example.net";
const LOGIN = "https://login.example.org:8443";

/** The problems loadConfig reports for `env`; none when it loads. */
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    return (error as ConfigError).problems;
  }
  return [];
}

describe("WEBAUTHN_RELATED_ORIGINS", () => {
  it("is empty by default and lists origins as browsers write them, each once", () => {
    expect(loadConfig({}).webauthn.relatedOrigins).toEqual([]);
    const config = loadConfig({
      EXTERNAL_URL: "https://id.example.com",
      WEBAUTHN_RELATED_ORIGINS: ` ${SHOP}, HTTPS://Login.Example.org:8443/ ,,https://shop.example.net:443,https://bücher.example`,
    });
    expect(config.webauthn.relatedOrigins).toEqual([SHOP, LOGIN, "https://xn--bcher-kva.example"]);
    // Any host: unlike WEBAUTHN_ORIGINS, not tied to the RP ID.
    expect(config.webauthn.origins).toEqual(["https://id.example.com"]);
  });

  it("allows plain http for loopback hosts only, as WEBAUTHN_ORIGINS does", () => {
    expect(
      loadConfig({ WEBAUTHN_RELATED_ORIGINS: "http://app.localhost:3000" }).webauthn.relatedOrigins,
    ).toEqual(["http://app.localhost:3000"]);
    expect(problemsOf({ WEBAUTHN_ORIGINS: "http://app.example.com" })).toHaveLength(1);
    expect(problemsOf({ WEBAUTHN_RELATED_ORIGINS: "http://app.example.com" })).toEqual([
      'WEBAUTHN_RELATED_ORIGINS: "http://app.example.com" must be https (http is allowed only for loopback hosts)',
    ]);
  });

  it("refuses each bad entry with its own line: paths, queries, fragments, user info, IPs, non-URLs", () => {
    const problems = problemsOf({
      WEBAUTHN_RELATED_ORIGINS: [
        SHOP,
        "https://evil.example/login",
        "https://evil.example?x",
        "https://evil.example#shop.example.net",
        "https://evil.example\\shop.example.net",
        "https://shop.example.net@evil.example",
        "https://admin:hunter2@shop.example.net",
        "https://203.0.113.7",
        "shop.example.net",
        "ftp://shop.example.net",
      ].join(","),
    });
    expect(problems).toEqual([
      'WEBAUTHN_RELATED_ORIGINS: "https://evil.example/login" must be an origin alone, scheme://host[:port], without path, query or fragment',
      'WEBAUTHN_RELATED_ORIGINS: "https://evil.example?x" must be an origin alone, scheme://host[:port], without path, query or fragment',
      'WEBAUTHN_RELATED_ORIGINS: "https://evil.example#shop.example.net" must be an origin alone, scheme://host[:port], without path, query or fragment',
      'WEBAUTHN_RELATED_ORIGINS: "https://evil.example\\\\shop.example.net" must be an origin alone, scheme://host[:port], without path, query or fragment',
      "WEBAUTHN_RELATED_ORIGINS: an entry has user info (user@ or user:password@): give the origin alone",
      "WEBAUTHN_RELATED_ORIGINS: an entry has user info (user@ or user:password@): give the origin alone",
      'WEBAUTHN_RELATED_ORIGINS: "https://203.0.113.7" must name a host: browsers run no WebAuthn ceremony on an IP address',
      'WEBAUTHN_RELATED_ORIGINS: "shop.example.net" must be an origin alone, scheme://host[:port], without path, query or fragment',
      'WEBAUTHN_RELATED_ORIGINS: "ftp://shop.example.net" must be https (http is allowed only for loopback hosts)',
    ]);
    expect(problems.join("\n")).not.toContain("hunter2");
  });

  it("holds every origin list to the same rule: no entry names another host or carries a path", () => {
    // Before, each list kept URL.origin of whatever it was given: the first entry below became
    // https://evil.example, trusted for CORS, as a link target, or as a ceremony origin.
    for (const name of ["CORS_ORIGINS", "LINK_ALLOWED_ORIGINS", "WEBAUTHN_ORIGINS"]) {
      expect(
        problemsOf({
          EXTERNAL_URL: "https://example.com",
          [name]: "https://example.com@evil.example,https://example.com/app,https://example.com",
        }),
      ).toEqual([
        `${name}: an entry has user info (user@ or user:password@): give the origin alone`,
        `${name}: "https://example.com/app" must be an origin alone, scheme://host[:port], without path, query or fragment`,
      ]);
    }
    // Only related origins must be host names: a link or CORS origin may be an address.
    expect(
      loadConfig({
        CORS_ORIGINS: "https://203.0.113.7",
        LINK_ALLOWED_ORIGINS: "https://[2001:db8::1]",
      }).corsOrigins,
    ).toEqual(["https://203.0.113.7"]);
  });

  it("stops the server at start-up, one line per bad entry, exit code 1", () => {
    const result = spawnSync(process.execPath, [path.resolve(__dirname, "../dist/src/main.js")], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "production",
        WEBAUTHN_RELATED_ORIGINS: `${SHOP},https://evil.example/x,https://a:secret@b.example`,
      },
      encoding: "utf8",
      // Generous: on a loaded machine loading the server alone can take a while.
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split("\n");
    expect(lines[0]).toBe("invalid configuration:");
    expect(lines.filter((line) => line.startsWith("  - WEBAUTHN_RELATED_ORIGINS:"))).toHaveLength(
      2,
    );
    expect(result.stderr).not.toContain("secret");
  }, 90_000);
});

describe("with related origins", () => {
  let t: TestApp;
  let org: string;
  beforeAll(async () => {
    t = await startTestApp({
      NODE_ENV: "production",
      WEBAUTHN_RELATED_ORIGINS: `${SHOP},${LOGIN}`,
      CORS_ORIGINS: SHOP,
    });
    org = await addOrg(t);
  });
  afterAll(() => t.close());

  it("serves them at /.well-known/webauthn: public, briefly cacheable, the same for every origin", async () => {
    const requests: Record<string, string>[] = [
      {},
      { origin: SHOP },
      { origin: "https://evil.example" },
    ];
    for (const headers of requests) {
      const response = await fetch(`${t.url}/.well-known/webauthn`, { headers });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(response.headers.get("cache-control")).toBe("public, max-age=300");
      // Outside CORS even for an origin CORS_ORIGINS lists: nothing reflected into a cached answer.
      expect(response.headers.get("access-control-allow-origin")).toBeNull();
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("vary")).toBeNull();
      expect(response.headers.get("set-cookie")).toBeNull();
      expect(await response.text()).toBe(JSON.stringify({ origins: [SHOP, LOGIN] }));
    }
    const head = await fetch(`${t.url}/.well-known/webauthn`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("cache-control")).toBe("public, max-age=300");
    const post = await fetch(`${t.url}/.well-known/webauthn`, { method: "POST" });
    expect(post.status).toBe(404);
  });

  it("accepts a registration made on a related origin", async () => {
    const userId = await addHuman(t, org);
    for (const origin of [SHOP, LOGIN]) {
      await registerWithCode(t, userId, await returnedCode(t, userId), origin, { origin });
    }
    const { passkeys } = await t.ok(LIST_PASSKEYS, { userId });
    expect(passkeys.map((passkey: { name: string }) => passkey.name)).toEqual([SHOP, LOGIN]);
  });

  it("still refuses an origin on neither list, and the RP ID stays the configured one", async () => {
    const userId = await addHuman(t, org);
    const code = await returnedCode(t, userId);
    for (const overrides of [
      { origin: "https://evil.example" },
      { origin: "https://shop.example.net.evil.example" },
      { origin: "http://shop.example.net" },
      { origin: SHOP, rpId: "example.net" },
    ]) {
      const opened = await registerPasskey(t, userId, code);
      const { passkeyId, publicKeyCredentialCreationOptions } = opened.data.registerPasskey;
      expect(publicKeyCredentialCreationOptions.publicKey.rp.id).toBe(t.config.webauthn.rpId);
      const response = softAuthenticatorFor(t).create(
        publicKeyCredentialCreationOptions.publicKey,
        overrides,
      );
      const error = expectError(
        await verifyPasskey(t, { userId, passkeyId, publicKeyCredential: response }),
        "INVALID_ARGUMENT",
        "PASSKEY-verification-failed",
      );
      expect(error.message).toMatch(
        overrides.rpId ? /another relying party/ : /an origin this server does not accept/,
      );
      // The accepted origins are not the caller's to read.
      expect(error.message).not.toContain("login.example.org");
    }
    expect((await t.ok(LIST_PASSKEYS, { userId })).passkeys).toEqual([]);
  });
});

it("without related origins there is no /.well-known/webauthn", async () => {
  const t = await startTestApp({ NODE_ENV: "production" });
  try {
    const response = await fetch(`${t.url}/.well-known/webauthn`);
    expect(response.status).toBe(404);
    const body: any = await response.json();
    expect(body.errors[0].extensions.details[0].id).toBe("HTTP-route-not-found");
  } finally {
    await t.close();
  }
});
