// Configuration: defaults, and one clear line per bad value with exit code 1.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ConfigError } from "../src/config";
import { loadConfig } from "../src/config";

it("has working defaults for a first run", () => {
  const config = loadConfig({});
  expect(config.port).toBe(4000);
  expect(config.database).toEqual({
    kind: "sqlite",
    path: "data/passkey-links.sqlite",
    statementTimeoutMs: 10000,
  });
  expect(config.externalUrl.href).toBe("http://localhost:4000/");
  expect(config.smtpUrl).toBeUndefined();
  expect(config.code).toEqual({
    length: 12,
    lifetimeSeconds: 3600,
    maxFailedChecks: 3,
    maxActive: 10,
    retentionDays: 30,
  });
  expect(config.http.maxAliases).toBe(15);
  expect(config.linkUrlTemplate).toBe(
    "http://localhost:4000/ui/login/login/passwordless/init?userID={{.UserID}}&orgID={{.OrgID}}&codeID={{.CodeID}}&code={{.Code}}",
  );
});

it("reads a MySQL URL and the allowed link origins", () => {
  const config = loadConfig({
    DATABASE_URL: "mysql://app:secret@db.internal:3306/passkeys",
    EXTERNAL_URL: "https://id.example.com",
    LINK_ALLOWED_ORIGINS: "https://app.example.com, https://login.example.org",
  });
  expect(config.database).toMatchObject({
    kind: "mysql",
    url: "mysql://app:secret@db.internal:3306/passkeys",
  });
  expect(config.linkAllowedOrigins).toEqual([
    "https://id.example.com",
    "https://app.example.com",
    "https://login.example.org",
  ]);
});

it("stops the server with one line per problem and exit code 1", () => {
  const result = spawnSync(process.execPath, [path.resolve(__dirname, "../dist/src/main.js")], {
    env: {
      PATH: process.env.PATH,
      PORT: "eighty",
      DATABASE_URL: "postgres://localhost/x",
      EXTERNAL_URL: "http://id.example.com",
      MASTER_KEY: "dG9vIHNob3J0",
      SMTP_URL: "http://mail",
    },
    encoding: "utf8",
  });
  expect(result.status).toBe(1);
  const lines = result.stderr.trim().split("\n");
  expect(lines[0]).toBe("invalid configuration:");
  for (const name of ["PORT", "DATABASE_URL", "EXTERNAL_URL", "MASTER_KEY", "SMTP_URL"]) {
    expect(lines.filter((line) => line.startsWith(`  - ${name}:`))).toHaveLength(1);
  }
  expect(result.stderr).not.toContain("dG9vIHNob3J0");
});

it("reports a bad link template together with other problems, and a query in EXTERNAL_URL", () => {
  const problems = (() => {
    try {
      loadConfig({
        PORT: "eighty",
        EXTERNAL_URL: "https://id.example.com/?tenant=1",
        LINK_URL_TEMPLATE: "https://evil.example.net/?c={{.Code}}",
      });
    } catch (error) {
      return (error as ConfigError).problems;
    }
    return [];
  })();
  expect(problems.map((problem) => problem.split(":")[0])).toEqual(["PORT", "EXTERNAL_URL"]);
  const withTemplate = (() => {
    try {
      loadConfig({ PORT: "eighty", LINK_URL_TEMPLATE: "https://evil.example.net/?c={{.Code}}" });
    } catch (error) {
      return (error as ConfigError).problems;
    }
    return [];
  })();
  expect(withTemplate).toEqual([
    "PORT: Invalid input: expected number, received NaN",
    "LINK_URL_TEMPLATE: origin https://evil.example.net is not EXTERNAL_URL's nor listed in LINK_ALLOWED_ORIGINS",
  ]);
});

/** The problems loadConfig reports for `env`; none when it loads. */
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    return (error as ConfigError).problems;
  }
  return [];
}

describe("the WebAuthn relying party", () => {
  it("defaults to EXTERNAL_URL's host and origin", () => {
    const config = loadConfig({ EXTERNAL_URL: "https://id.example.com" });
    expect(config.webauthn).toEqual({
      rpId: "id.example.com",
      rpName: "Passkey Links",
      origins: ["https://id.example.com"],
      relatedOrigins: [],
      timeoutSeconds: 300,
      maxPerUser: 20,
    });
  });

  it("accepts origins on the RP ID and its subdomains", () => {
    const config = loadConfig({
      EXTERNAL_URL: "https://id.example.com",
      WEBAUTHN_RP_ID: "Example.com",
      WEBAUTHN_ORIGINS: "https://id.example.com, https://app.example.com",
    });
    expect(config.webauthn.rpId).toBe("example.com");
    expect(config.webauthn.origins).toEqual(["https://id.example.com", "https://app.example.com"]);
  });

  it("refuses origins off the RP ID, plain http off loopback, and an RP ID that is no host name", () => {
    expect(
      problemsOf({
        EXTERNAL_URL: "https://id.example.com",
        WEBAUTHN_ORIGINS: "https://id.example.com,https://example.com.evil.net",
      }),
    ).toEqual([
      "WEBAUTHN_ORIGINS: https://example.com.evil.net is not on the RP ID id.example.com or a subdomain of it",
    ]);
    expect(problemsOf({ WEBAUTHN_ORIGINS: "http://app.example.com" })).toEqual([
      'WEBAUTHN_ORIGINS: "http://app.example.com" must be https (http is allowed only for loopback hosts)',
    ]);
    expect(problemsOf({ WEBAUTHN_RP_ID: "https://example.com" })[0]).toMatch(/^WEBAUTHN_RP_ID/);
  });
});

it("retries deadlocked transactions DATABASE_RETRIES times (default 8)", () => {
  const url = "mysql://app@db:3306/p";
  expect(loadConfig({ DATABASE_URL: url }).database).toMatchObject({ retries: 8 });
  expect(loadConfig({ DATABASE_URL: url, DATABASE_RETRIES: "2" }).database).toMatchObject({
    retries: 2,
  });
});

describe("settings that only fail later unless checked at start-up", () => {
  it("MAIL_FROM must carry an address: no mail without a From header or with a second one", () => {
    for (const from of [
      "Passkey Links <no-reply@localhost>",
      "no-reply@acme.example",
      '"Acme, Inc." <no-reply@acme.example>',
    ]) {
      expect(problemsOf({ MAIL_FROM: from })).toEqual([]);
    }
    for (const from of [
      "Passkey Links",
      "a@acme.example, b@acme.example",
      "Acme <no-reply@acme.example>\nBcc: someone@else.example",
      "Acme <no-reply@acme.example",
    ]) {
      expect(problemsOf({ MAIL_FROM: from })).toEqual([
        expect.stringMatching(/^MAIL_FROM: must be an address/),
      ]);
    }
  });

  it("METRICS_PORT must differ from PORT", () => {
    expect(problemsOf({ PORT: "4733", METRICS_PORT: "4733" })).toEqual([
      "METRICS_PORT: must differ from PORT (the metrics are served on their own port)",
    ]);
    expect(problemsOf({ PORT: "4733", METRICS_PORT: "4734" })).toEqual([]);
  });
});

describe("start-up refusals of issue 20", () => {
  it("refuses an IP address as EXTERNAL_URL or WEBAUTHN_RP_ID (v4 and v6); localhost is fine", () => {
    for (const url of ["http://127.0.0.1:4000", "https://192.0.2.10", "http://[::1]:4000"]) {
      expect(problemsOf({ EXTERNAL_URL: url })).toEqual([
        expect.stringMatching(/^EXTERNAL_URL: must be a host name, not an IP address/),
      ]);
    }
    for (const rpId of ["192.0.2.10", "10.1.2.3"]) {
      expect(problemsOf({ EXTERNAL_URL: "https://id.example.com", WEBAUTHN_RP_ID: rpId })).toEqual([
        expect.stringMatching(/^WEBAUTHN_RP_ID: must be a host name, not an IP address/),
      ]);
    }
    expect(problemsOf({ EXTERNAL_URL: "http://localhost:4000" })).toEqual([]);
    expect(problemsOf({ EXTERNAL_URL: "http://id.localhost:4000" })).toEqual([]);
  });

  it("in production, requires EXTERNAL_URL and MASTER_KEY instead of falling back", () => {
    const key = Buffer.alloc(32, 7).toString("base64");
    expect(problemsOf({ NODE_ENV: "production" })).toEqual([
      expect.stringMatching(/^EXTERNAL_URL: required when NODE_ENV=production/),
      expect.stringMatching(/^MASTER_KEY: required when NODE_ENV=production/),
    ]);
    expect(problemsOf({ NODE_ENV: "production", EXTERNAL_URL: "https://id.example.com" })).toEqual([
      expect.stringMatching(/^MASTER_KEY: required/),
    ]);
    expect(
      problemsOf({
        NODE_ENV: "production",
        EXTERNAL_URL: "https://id.example.com",
        MASTER_KEY: key,
      }),
    ).toEqual([]);
    expect(problemsOf({ NODE_ENV: "development" })).toEqual([]);
  });

  it("requires TLS for an SMTP password sent to a host that is not loopback", () => {
    const remote = "smtp://app:pw@mail.example.com:587";
    expect(loadConfig({ SMTP_URL: remote }).smtpRequireTls).toBe(true);
    expect(loadConfig({ SMTP_URL: remote, SMTP_REQUIRE_TLS: "false" }).smtpRequireTls).toBe(false);
    for (const url of [
      "smtp://mail.example.com:25",
      "smtp://app:pw@127.0.0.1:25",
      "smtp://app:pw@localhost:25",
      "smtps://app:pw@mail.example.com:465",
    ]) {
      expect(loadConfig({ SMTP_URL: url }).smtpRequireTls).toBe(false);
    }
    for (const off of ["ignoreTLS=true", "requireTLS=false"]) {
      expect(problemsOf({ SMTP_URL: `${remote}?${off}` })).toEqual([
        expect.stringMatching(/^SMTP_URL: turns TLS off .* set SMTP_REQUIRE_TLS=false/),
      ]);
      expect(problemsOf({ SMTP_URL: `${remote}?${off}`, SMTP_REQUIRE_TLS: "false" })).toEqual([]);
    }
    expect(problemsOf({ SMTP_REQUIRE_TLS: "no" })).toEqual([
      "SMTP_REQUIRE_TLS: must be true or false",
    ]);
  });

  it("sizes the SMTP pool, and so the outbox worker's parallel sends, by SMTP_MAX_CONNECTIONS", () => {
    expect(loadConfig({}).smtpMaxConnections).toBe(10);
    expect(loadConfig({ SMTP_MAX_CONNECTIONS: "1" }).smtpMaxConnections).toBe(1);
    expect(loadConfig({ SMTP_MAX_CONNECTIONS: "100" }).smtpMaxConnections).toBe(100);
    for (const bad of ["0", "101", "2.5", "many"]) {
      expect(problemsOf({ SMTP_MAX_CONNECTIONS: bad })).toEqual([
        expect.stringMatching(/^SMTP_MAX_CONNECTIONS: /),
      ]);
    }
  });

  it("stops a production start without them with one line each, writing nothing", () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "plk-prod-"));
    try {
      const result = spawnSync(process.execPath, [path.resolve(__dirname, "../dist/src/main.js")], {
        env: { PATH: process.env.PATH, NODE_ENV: "production", DATA_DIR: dataDir },
        encoding: "utf8",
      });
      expect(result.status).toBe(1);
      expect(result.stderr.trim().split("\n")).toEqual([
        "invalid configuration:",
        expect.stringMatching(/^ {2}- EXTERNAL_URL: required when NODE_ENV=production/),
        expect.stringMatching(/^ {2}- MASTER_KEY: required when NODE_ENV=production/),
      ]);
      expect(fs.readdirSync(dataDir)).toEqual([]);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
