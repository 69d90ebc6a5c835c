// Passkey registration over HTTP with a software authenticator: who may call, what the code
// allows, what verification refuses, the stored passkey, its removal, events and the notice mail.
import { actor, addHuman, addMachine, addOrg, tokenFor } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { expectError, startTestApp } from "./helpers/harness";
import { listCodes, mailsTo } from "./helpers/passkey-mail";
import type { Code } from "./helpers/passkeys";
import type { CreateOverrides } from "./helpers/soft-authenticator";
import {
  LIST_PASSKEYS,
  REMOVE_PASSKEY,
  registerPasskey,
  registerWithCode,
  returnedCode,
  softAuthenticatorFor,
  verifyPasskey,
} from "./helpers/passkeys";
import { SmtpSink } from "./helpers/smtp-sink";
import { eventually } from "./helpers/wait";

let t: TestApp;
let sink: SmtpSink;
let org: string;

beforeAll(async () => {
  sink = await SmtpSink.start();
  t = await startTestApp({ SMTP_URL: sink.url, OUTBOX_POLL_MS: "50" });
  org = await addOrg(t);
});
afterAll(async () => {
  await t.close();
  await sink.stop();
});

/** Opens a registration with `code` and returns what the browser would get. */
async function open(userId: string, code: Code) {
  const result = await registerPasskey(t, userId, code);
  expect(result.errors).toBeUndefined();
  return result.data.registerPasskey as {
    details: { sequence: string; creationDate: string | null; resourceOwner: string };
    passkeyId: string;
    publicKeyCredentialCreationOptions: { publicKey: any };
  };
}

/**
 * Opens a registration with `code` and has the software authenticator answer it; `verify` sends
 * that answer (the browser's part of the ceremony) with the given passkey name.
 */
async function ceremony(userId: string, code: Code, overrides: CreateOverrides = {}) {
  const opened = await open(userId, code);
  const response = softAuthenticatorFor(t).create(
    opened.publicKeyCredentialCreationOptions.publicKey,
    overrides,
  );
  const verify = (passkeyName?: string) =>
    verifyPasskey(t, {
      userId,
      passkeyId: opened.passkeyId,
      publicKeyCredential: response,
      ...(passkeyName === undefined ? {} : { passkeyName }),
    });
  return { ...opened, response, verify };
}

const passkeysOf = async (userId: string) => (await t.ok(LIST_PASSKEYS, { userId })).passkeys;
const codeState = async (userId: string, codeId: string) =>
  (await listCodes(t, userId)).find((code) => code.id === codeId)!.state;

async function eventsOf(userId: string): Promise<{ event_type: string; payload: string }[]> {
  return t.app.services.db.read((db) =>
    db.query("SELECT event_type, payload FROM events WHERE aggregate_id = ? ORDER BY sequence", [
      userId,
    ]),
  );
}

describe("registerPasskey", () => {
  it("with a code needs no token and returns ZITADEL-shaped creation options", async () => {
    const userId = await addHuman(t, org);
    const code = await returnedCode(t, userId);
    const opened = await open(userId, code);
    expect(opened.details.creationDate).toBeNull();
    expect(opened.details.resourceOwner).toBe(org);
    const options = opened.publicKeyCredentialCreationOptions.publicKey;
    expect(options.rp).toEqual({ id: "localhost", name: "Passkey Links" });
    expect(Buffer.from(options.user.id, "base64url").toString("utf8")).toBe(userId);
    expect(options.user.name).not.toContain("@");
    expect(options.authenticatorSelection).toMatchObject({
      residentKey: "required",
      userVerification: "required",
    });
    expect(options.attestation).toBe("none");
    expect(options.timeout).toBe(300000);
    expect(Buffer.from(options.challenge, "base64url").length).toBeGreaterThanOrEqual(32);
    expect(options.excludeCredentials).toEqual([]);
    expect(await codeState(userId, code.id)).toBe("ACTIVE");
  });

  it("sets authenticatorAttachment from the authenticator choice", async () => {
    const userId = await addHuman(t, org);
    const code = await returnedCode(t, userId);
    const platform = await registerPasskey(t, userId, code, { authenticator: "PLATFORM" });
    expect(
      platform.data.registerPasskey.publicKeyCredentialCreationOptions.publicKey
        .authenticatorSelection.authenticatorAttachment,
    ).toBe("platform");
    const roaming = await registerPasskey(t, userId, code, { authenticator: "CROSS_PLATFORM" });
    expect(
      roaming.data.registerPasskey.publicKeyCredentialCreationOptions.publicKey
        .authenticatorSelection.authenticatorAttachment,
    ).toBe("cross-platform");
  });

  it("refuses a domain other than the configured RP ID", async () => {
    const userId = await addHuman(t, org);
    const code = await returnedCode(t, userId);
    expectError(
      await registerPasskey(t, userId, code, { domain: "evil.example" }),
      "INVALID_ARGUMENT",
      "PASSKEY-domain",
    );
    expect(
      (await registerPasskey(t, userId, code, { domain: "localhost" })).errors,
    ).toBeUndefined();
  });

  it("without a code: only the signed-in user itself, never an administrator for someone else", async () => {
    const self = await actor(t, org);
    expectError(await registerPasskey(t, self.userId, null), "UNAUTHENTICATED");
    expectError(
      await registerPasskey(t, self.userId, null, {}, { token: t.adminToken }),
      "PERMISSION_DENIED",
      "PASSKEY-code-required",
    );
    const opened = await registerPasskey(t, self.userId, null, {}, { token: self.token });
    expect(opened.errors).toBeUndefined();
    const { passkeyId, publicKeyCredentialCreationOptions } = opened.data.registerPasskey;
    const credential = softAuthenticatorFor(t).create(publicKeyCredentialCreationOptions.publicKey);
    // Without a code, the registration belongs to the signed-in user: nobody else may finish it.
    const input = { userId: self.userId, passkeyId, publicKeyCredential: credential };
    expectError(await verifyPasskey(t, input), "UNAUTHENTICATED");
    expectError(await verifyPasskey(t, input, { token: t.adminToken }), "PERMISSION_DENIED");
    expect((await verifyPasskey(t, input, { token: self.token })).errors).toBeUndefined();
    expect((await passkeysOf(self.userId))[0].registeredWithCodeId).toBeNull();
  });

  it("refuses machine users and users that are not active", async () => {
    const machine = await addMachine(t, org);
    const self = await actor(t, org);
    expectError(
      await registerPasskey(t, machine, null, {}, { token: await tokenFor(t, machine) }),
      "FAILED_PRECONDITION",
      "LINK-user-machine",
    );
    const code = await returnedCode(t, self.userId);
    await t.ok(`mutation { lockUser(input: {userId: "${self.userId}"}) { details { sequence } } }`);
    // Locking revoked the code: its holder is told so, as for any revoked link.
    expectError(await registerPasskey(t, self.userId, code), "FAILED_PRECONDITION", "CODE-revoked");
  });

  it("tells whoever holds no valid code nothing about the user's type or state", async () => {
    const machine = await addMachine(t, org);
    const locked = await addHuman(t, org);
    await t.ok(`mutation { lockUser(input: {userId: "${locked}"}) { details { sequence } } }`);
    const guessed = { id: "0190b1a2-0000-7000-8000-000000000000", code: "guessedguess" };
    for (const userId of [machine, locked, await addHuman(t, org)]) {
      expectError(await registerPasskey(t, userId, guessed), "INVALID_ARGUMENT", "CODE-invalid");
    }
  });
});

describe("verifyPasskeyRegistration", () => {
  it("stores the passkey, spends the code and writes ZITADEL's events", async () => {
    const userId = await addHuman(t, org);
    const code = await returnedCode(t, userId);
    const passkeyId = await registerWithCode(t, userId, code, "Ada's phone");
    const [passkey, ...more] = await passkeysOf(userId);
    expect(more).toEqual([]);
    expect(passkey).toMatchObject({
      id: passkeyId,
      name: "Ada's phone",
      registeredWithCodeId: code.id,
      backedUp: false,
    });
    expect(await codeState(userId, code.id)).toBe("USED");
    const types = (await eventsOf(userId)).map((event) => event.event_type);
    expect(types.slice(-3)).toEqual([
      "user.human.passwordless.initialization.code.check.succeeded",
      "user.human.passwordless.token.added",
      "user.human.passwordless.token.verified",
    ]);
  });

  it("a failed ceremony stores nothing and leaves the code usable; a retry succeeds", async () => {
    const userId = await addHuman(t, org);
    const code = await returnedCode(t, userId);
    const unverified = await ceremony(userId, code, { userVerified: false });
    expectError(await unverified.verify(), "INVALID_ARGUMENT", "PASSKEY-verification-failed");
    expect(await passkeysOf(userId)).toEqual([]);
    expect(await codeState(userId, code.id)).toBe("ACTIVE");
    await registerWithCode(t, userId, code);
    expect(await passkeysOf(userId)).toHaveLength(1);
  });

  it("a code registers at most one passkey", async () => {
    const userId = await addHuman(t, org);
    const code = await returnedCode(t, userId);
    const early = await ceremony(userId, code);
    await registerWithCode(t, userId, code);
    expectError(await registerPasskey(t, userId, code), "FAILED_PRECONDITION", "CODE-used");
    // A registration opened earlier with the same code was superseded and cannot finish either.
    expectError(await early.verify(), "FAILED_PRECONDITION", "PASSKEY-registration-ended");
    expect(await passkeysOf(userId)).toHaveLength(1);
  });

  it("a code revoked or expired between register and verify fails and stores nothing", async () => {
    const userId = await addHuman(t, org);
    const revoked = await returnedCode(t, userId);
    const opened = await ceremony(userId, revoked);
    await t.ok(
      `mutation($input: RevokePasskeyRegistrationCodeInput!) { revokePasskeyRegistrationCode(input: $input) { details { sequence } } }`,
      { input: { userId, codeId: revoked.id } },
    );
    expectError(await opened.verify(), "FAILED_PRECONDITION", "CODE-revoked");

    const expiring = await returnedCode(t, userId);
    t.clock.advance(3600 * 1000 - 60_000);
    try {
      const late = await ceremony(userId, expiring);
      t.clock.advance(61_000);
      expectError(await late.verify(), "FAILED_PRECONDITION", "CODE-expired");
    } finally {
      t.clock.advance(-(3600 * 1000 + 1000));
    }
    expect(await passkeysOf(userId)).toEqual([]);
  });

  it("refuses a wrong origin, another RP ID, a replayed response and a response for another challenge", async () => {
    const userId = await addHuman(t, org);
    const code = await returnedCode(t, userId);
    for (const overrides of [
      { origin: "https://evil.example" },
      { rpId: "evil.example" },
      { challenge: Buffer.alloc(32, 7).toString("base64url") },
    ]) {
      const error = expectError(
        await (await ceremony(userId, code, overrides)).verify(),
        "INVALID_ARGUMENT",
        "PASSKEY-verification-failed",
      );
      expect(error.message).not.toContain(code.code);
      // The library's own words quote the expected challenge and the accepted origins.
      expect(error.message).not.toMatch(/expected|localhost/i);
    }
    expect(await codeState(userId, code.id)).toBe("ACTIVE");

    const good = await ceremony(userId, code);
    expect((await good.verify()).errors).toBeUndefined();
    expectError(await good.verify(), "FAILED_PRECONDITION", "PASSKEY-registration-ended");
    expect(await passkeysOf(userId)).toHaveLength(1);
  });

  it("a code opens a bounded number of registrations, then is visibly locked out", async () => {
    const userId = await addHuman(t, org);
    const code = await returnedCode(t, userId);
    for (let i = 0; i < 20; i++) await open(userId, code);
    for (let i = 0; i < 2; i++) {
      expectError(await registerPasskey(t, userId, code), "FAILED_PRECONDITION", "CODE-locked_out");
    }
    // Not a code that answers "locked" while its listing says ACTIVE (and fills the active cap).
    expect(await codeState(userId, code.id)).toBe("LOCKED_OUT");
    const events = await t.app.services.db.read((db) =>
      db.query<{ payload: string }[]>(
        "SELECT payload FROM events WHERE aggregate_id = ? AND event_type = ? ORDER BY sequence",
        [userId, "user.human.passwordless.initialization.code.check.failed"],
      ),
    );
    expect(events.map((e) => JSON.parse(e.payload))).toEqual([
      { codeId: code.id, lockedOut: true, reason: "too-many-registrations" },
    ]);
  });

  it("a timed-out registration cannot be verified", async () => {
    const userId = await addHuman(t, org);
    const code = await returnedCode(t, userId);
    const opened = await ceremony(userId, code);
    t.clock.advance(301_000);
    try {
      expectError(await opened.verify(), "FAILED_PRECONDITION", "PASSKEY-registration-expired");
    } finally {
      t.clock.advance(-301_000);
    }
    expect(await codeState(userId, code.id)).toBe("ACTIVE");
  });

  it("a credential ID is unique across users", async () => {
    const alice = await addHuman(t, org);
    const bob = await addHuman(t, org);
    const credentialId = Buffer.alloc(32, 42);
    await registerWithCode(t, alice, await returnedCode(t, alice), "Key", { credentialId });
    const code = await returnedCode(t, bob);
    const copy = await ceremony(bob, code, { credentialId });
    expectError(await copy.verify(), "ALREADY_EXISTS", "PASSKEY-credential-exists");
    expect(await passkeysOf(bob)).toEqual([]);
    expect(await codeState(bob, code.id)).toBe("ACTIVE");
  });

  it("two codes give two passkeys, and the second registration excludes the first credential", async () => {
    const userId = await addHuman(t, org);
    await registerWithCode(t, userId, await returnedCode(t, userId), "Laptop");
    const opened = await open(userId, await returnedCode(t, userId));
    const [first] = await t.app.services.db.read((db) =>
      db.query<{ credential_id: string }[]>(
        "SELECT credential_id FROM passkeys WHERE user_id = ?",
        [userId],
      ),
    );
    expect(opened.publicKeyCredentialCreationOptions.publicKey.excludeCredentials).toEqual([
      { id: first!.credential_id, type: "public-key", transports: ["internal"] },
    ]);
    await registerWithCode(t, userId, await returnedCode(t, userId), "Phone");
    expect((await passkeysOf(userId)).map((p: { name: string }) => p.name)).toEqual([
      "Laptop",
      "Phone",
    ]);
  });

  it("checks the passkey name", async () => {
    const userId = await addHuman(t, org);
    const code = await returnedCode(t, userId);
    const opened = await ceremony(userId, code);
    for (const name of [
      "",
      "   ",
      "x".repeat(201),
      "Phone\nuse https://evil.example",
      "a\u202Eb",
    ]) {
      expectError(await opened.verify(name), "INVALID_ARGUMENT", "PASSKEY-name");
    }
  });
});

describe("stored passkeys", () => {
  it("are listed for oneself or with user.read, and removed by oneself or user.passkey.write", async () => {
    const owner = await actor(t, org, ["ORG_OWNER"]);
    const manager = await actor(t, org, ["ORG_USER_MANAGER"]);
    const stranger = await actor(t, await addOrg(t), ["ORG_OWNER"]);
    const user = await actor(t, org);
    const passkeyId = await registerWithCode(t, user.userId, await returnedCode(t, user.userId));
    const list = (token: string) => t.gql(LIST_PASSKEYS, { userId: user.userId }, { token });
    expect((await list(user.token)).data.passkeys).toHaveLength(1);
    expect((await list(manager.token)).data.passkeys).toHaveLength(1);
    expectError(await list(stranger.token), "PERMISSION_DENIED");

    const remove = (token: string, id = passkeyId) =>
      t.gql(REMOVE_PASSKEY, { input: { userId: user.userId, passkeyId: id } }, { token });
    expectError(await remove(manager.token), "PERMISSION_DENIED");
    expectError(await remove(stranger.token), "PERMISSION_DENIED");
    expectError(
      await remove(owner.token, "0190b1a2-0000-7000-8000-000000000000"),
      "NOT_FOUND",
      "PASSKEY-not-found",
    );
    expect((await remove(owner.token)).errors).toBeUndefined();
    expect(await passkeysOf(user.userId)).toEqual([]);
    expect((await eventsOf(user.userId)).at(-1)!.event_type).toBe(
      "user.human.passwordless.token.removed",
    );

    const again = await registerWithCode(t, user.userId, await returnedCode(t, user.userId));
    expect((await remove(user.token, again)).errors).toBeUndefined();
  });

  it("never show key material", async () => {
    const userId = await addHuman(t, org);
    await registerWithCode(t, userId, await returnedCode(t, userId));
    const body = await t.gql(
      `query($userId: ID!) { passkeys(userId: $userId) { id name createdAt registeredWithCodeId backedUp publicKey } }`,
      { userId },
    );
    expectError(body, "GRAPHQL_VALIDATION_FAILED");
  });

  it("lock, deactivate and remove end pending registrations; unlock and reactivate revive none", async () => {
    const state = async (passkeyId: string) =>
      (
        await t.app.services.db.read((db) =>
          db.query<{ state: string }[]>("SELECT state FROM passkey_registrations WHERE id = ?", [
            passkeyId,
          ]),
        )
      )[0]!.state;
    const change = (mutation: string, userId: string) =>
      t.ok(`mutation { ${mutation}(input: {userId: "${userId}"}) { details { sequence } } }`);
    for (const [end, revive] of [
      ["lockUser", "unlockUser"],
      ["deactivateUser", "reactivateUser"],
      ["removeUser", null],
    ] as const) {
      const userId = await addHuman(t, org);
      const opened = await ceremony(userId, await returnedCode(t, userId));
      await change(end, userId);
      expect(await state(opened.passkeyId)).toBe("ENDED");
      if (revive) {
        await change(revive, userId);
        expectError(await opened.verify(), "FAILED_PRECONDITION", "PASSKEY-registration-ended");
        expect(await passkeysOf(userId)).toEqual([]);
      }
    }
  });
});

it("purges registrations a day past their timeout; stored passkeys stay", async () => {
  const userId = await addHuman(t, org);
  const passkeyId = await registerWithCode(t, userId, await returnedCode(t, userId));
  const abandoned = await open(userId, await returnedCode(t, userId));
  const count = async (id: string) =>
    (
      await t.app.services.db.read((db) =>
        db.query<{ n: number | string }[]>(
          "SELECT COUNT(*) AS n FROM passkey_registrations WHERE id = ?",
          [id],
        ),
      )
    )[0]!.n;
  await t.app.codeRetention.runOnce();
  expect(Number(await count(abandoned.passkeyId))).toBe(1);
  t.clock.advance(86_400_000 + 301_000);
  try {
    await t.app.codeRetention.runOnce();
  } finally {
    t.clock.advance(-(86_400_000 + 301_000));
  }
  expect(Number(await count(abandoned.passkeyId))).toBe(0);
  expect(Number(await count(passkeyId))).toBe(0);
  expect((await passkeysOf(userId)).map((p: { id: string }) => p.id)).toEqual([passkeyId]);
});

it("purges sent notices after PASSKEY_CODE_RETENTION_DAYS", async () => {
  const userId = await addHuman(t, org);
  await registerWithCode(t, userId, await returnedCode(t, userId));
  const notices = async () =>
    Number(
      (
        await t.app.services.db.read((db) =>
          db.query<{ n: number | string }[]>(
            "SELECT COUNT(*) AS n FROM mail_outbox WHERE user_id = ? AND kind = 'PASSKEY_ADDED' AND state <> 'QUEUED'",
            [userId],
          ),
        )
      )[0]!.n,
    );
  await eventually("the notice sent", async () => ((await notices()) === 1 ? true : undefined));
  await t.app.codeRetention.runOnce();
  expect(await notices()).toBe(1);
  t.clock.advance(31 * 86_400_000);
  try {
    await t.app.codeRetention.runOnce();
  } finally {
    t.clock.advance(-31 * 86_400_000);
  }
  expect(await notices()).toBe(0);
});

it("counts stored passkeys in passkeys_registered_total, and only those", async () => {
  const registered = async () =>
    Number(
      /^passkeys_registered_total (\d+)$/m.exec(await (await fetch(`${t.url}/metrics`)).text())![1],
    );
  const before = await registered();
  const userId = await addHuman(t, org);
  const code = await returnedCode(t, userId);
  await (await ceremony(userId, code, { userVerified: false })).verify();
  expect(await registered()).toBe(before);
  await registerWithCode(t, userId, code);
  expect(await registered()).toBe(before + 1);
});

describe("the notice mail", () => {
  it("tells the user in its language which passkey was added, with no link and no code", async () => {
    for (const [language, subject] of [
      ["en", "A passkey was added to your account"],
      ["de", "Ein Passkey wurde zu Ihrem Konto hinzugefügt"],
    ] as const) {
      const userId = await addHuman(t, org, { preferredLanguage: language });
      const email = (await t.ok(`query($id: ID!) { user(id: $id) { email } }`, { id: userId })).user
        .email;
      const code = await returnedCode(t, userId);
      await registerWithCode(t, userId, code, "Pixel 9");
      const [mail] = await eventually(`the notice to ${email}`, () => {
        const received = mailsTo(sink.mails, email);
        return received.length > 0 ? received : undefined;
      });
      expect(mail!.subject).toBe(subject);
      expect(mail!.text).toContain("Pixel 9");
      expect(mail!.html).toContain("Pixel 9");
      expect(mail!.text).not.toMatch(/https?:\/\//);
      expect(`${mail!.text}${mail!.html}`).not.toContain(code.code);
      expect(`${mail!.text}${mail!.html}`).not.toContain(code.id);
    }
  });
});

it("no log line contains a code", async () => {
  const userId = await addHuman(t, org);
  const code = await returnedCode(t, userId);
  await registerWithCode(t, userId, code);
  await fetch(
    `${t.url}/ui/login/login/passwordless/init?userID=${userId}&codeID=${code.id}&code=${code.code}`,
  );
  await fetch(`${t.url}/no/such/route?code=${code.code}`);
  expect(t.logs.join("")).not.toContain(code.code);
});
