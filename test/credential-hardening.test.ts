// Issue 18's attacks on credentials, each a test that failed before its fix: planted passkeys that
// survive a promotion, suppressed notices, readable challenges, unbounded WebAuthn input, orphaned
// child tokens, and an audit trail that named the wrong caller.
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { actor, addHuman, addOrg, grant } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { expectError, startTestApp } from "./helpers/harness";
import { SEND_LINK, listCodes, mailsTo } from "./helpers/passkey-mail";
import type { Code } from "./helpers/passkeys";
import {
  REMOVE_PASSKEY,
  RETURN_CODE,
  registerPasskey,
  registerWithCode,
  returnedCode,
  softAuthenticatorFor,
  verifyPasskey,
} from "./helpers/passkeys";
import type { CreateOverrides } from "./helpers/soft-authenticator";
import { encodeCbor } from "./helpers/soft-authenticator";
import { SmtpSink } from "./helpers/smtp-sink";
import { eventually } from "./helpers/wait";

let t: TestApp;
let sink: SmtpSink;
let org: string;
let adminId: string;

const MAX_PASSKEYS = 3;

beforeAll(async () => {
  sink = await SmtpSink.start();
  t = await startTestApp({
    NODE_ENV: "production",
    EXTERNAL_URL: "https://id.example.com",
    SMTP_URL: sink.url,
    OUTBOX_POLL_MS: "50",
    OUTBOX_RETRY_BASE_MS: "100",
    OUTBOX_RETRY_MAX_MS: "200",
    PASSKEY_MAX_PER_USER: String(MAX_PASSKEYS),
  });
  org = await addOrg(t);
  adminId = (await t.ok(`{ me { id } }`)).me.id;
});
afterAll(async () => {
  await t?.close();
  await sink?.stop();
});

const LIST_PASSKEYS = `query($userId: ID!) { passkeys(userId: $userId) { id name registeredWithCodeId grantedBy } }`;
const ADD_PAT = `mutation($input: AddPersonalAccessTokenInput!) { addPersonalAccessToken(input: $input) { tokenId token } }`;
const LIST_PATS = `query($userId: ID!) { personalAccessTokens(userId: $userId) { id createdBy grantedBy } }`;
const REMOVE_PAT = `mutation($input: RemovePersonalAccessTokenInput!) { removePersonalAccessToken(input: $input) { details { sequence } } }`;
const stateChange = (name: string) =>
  `mutation($input: UserIdInput!) { ${name}(input: $input) { details { sequence } } }`;

interface StoredEvent {
  event_type: string;
  payload: string;
  creator: string;
}

async function eventsOf(userId: string): Promise<StoredEvent[]> {
  return t.app.services.db.read((db) =>
    db.query(
      "SELECT event_type, payload, creator FROM events WHERE aggregate_id = ? ORDER BY sequence",
      [userId],
    ),
  );
}

const passkeysOf = async (userId: string) =>
  (await t.ok(LIST_PASSKEYS, { userId })).passkeys as {
    id: string;
    name: string;
    registeredWithCodeId: string | null;
    grantedBy: string;
  }[];

const emailOf = async (userId: string): Promise<string> =>
  (await t.ok(`query($id: ID!) { user(id: $id) { email } }`, { id: userId })).user.email;

const works = async (token: string) => (await t.gql(`{ me { id } }`, {}, { token })).status === 200;

async function codeMintedBy(token: string, userId: string): Promise<Code> {
  return (await t.ok(RETURN_CODE, { input: { userId, returnCode: true } }, { token }))
    .createPasskeyRegistrationLink.code;
}

/** Registers a passkey as the signed-in user behind `token` (no code). */
async function registerSignedIn(userId: string, token: string, name: string): Promise<string> {
  const opened = await registerPasskey(t, userId, null, {}, { token });
  expect(opened.errors).toBeUndefined();
  const { passkeyId, publicKeyCredentialCreationOptions } = opened.data.registerPasskey;
  const response = softAuthenticatorFor(t).create(publicKeyCredentialCreationOptions.publicKey);
  const verified = await verifyPasskey(
    t,
    { userId, passkeyId, publicKeyCredential: response, passkeyName: name },
    { token },
  );
  expect(verified.errors).toBeUndefined();
  return passkeyId;
}

/** Opens a registration with a fresh code and answers it with `overrides`; returns the verify result. */
async function verifyWith(userId: string, overrides: CreateOverrides) {
  const opened = await registerPasskey(t, userId, await returnedCode(t, userId));
  expect(opened.errors).toBeUndefined();
  const { passkeyId, publicKeyCredentialCreationOptions } = opened.data.registerPasskey;
  const response = softAuthenticatorFor(t).create(
    publicKeyCredentialCreationOptions.publicKey,
    overrides,
  );
  return {
    passkeyId,
    result: await verifyPasskey(t, { userId, passkeyId, publicKeyCredential: response }),
  };
}

const removedNotices = (address: string, subject: string) =>
  mailsTo(sink.mails, address).filter((mail) => mail.subject === subject);

describe("1. passkeys carry the authority they were registered under", () => {
  it("a passkey an organization owner planted (by code or by a token it minted) ends when the user becomes IAM_OWNER", async () => {
    const owner = await actor(t, org, ["ORG_OWNER"]);
    const victim = await addHuman(t, org);
    const planted = await registerWithCode(
      t,
      victim,
      await codeMintedBy(owner.token, victim),
      "owner's key by code",
    );
    const { token: plantedPat } = (
      await t.ok(ADD_PAT, { input: { userId: victim } }, { token: owner.token })
    ).addPersonalAccessToken;
    const viaToken = await registerSignedIn(victim, plantedPat, "owner's key by token");
    const own = await registerWithCode(t, victim, await returnedCode(t, victim), "victim's key");

    const before = await passkeysOf(victim);
    expect(before.map((p) => [p.id, p.grantedBy])).toEqual([
      [planted, owner.userId],
      [viaToken, owner.userId],
      [own, adminId],
    ]);

    await grant(t, victim, ["IAM_OWNER"], null);

    expect((await passkeysOf(victim)).map((p) => p.id)).toEqual([own]);
    const removed = (await eventsOf(victim)).filter(
      (e) => e.event_type === "user.human.passwordless.token.removed",
    );
    expect(removed.map((e) => JSON.parse(e.payload))).toEqual([
      { passkeyId: planted, reason: "role.granted" },
      { passkeyId: viaToken, reason: "role.granted" },
    ]);
    const email = await emailOf(victim);
    const notices = await eventually("two removal notices", () => {
      const mails = removedNotices(email, "A passkey was removed from your account");
      return mails.length >= 2 ? mails : undefined;
    });
    const texts = notices.map((mail) => mail.text).join("\n");
    expect(texts).toContain("owner's key by code");
    expect(texts).toContain("owner's key by token");
    expect(texts).not.toMatch(/https?:\/\//);
  });

  it("a passkey the user registered itself with its own token stays; the notice comes in German too", async () => {
    const owner = await actor(t, org, ["ORG_OWNER"]);
    const victim = await addHuman(t, org, { preferredLanguage: "de" });
    await registerWithCode(t, victim, await codeMintedBy(owner.token, victim), "Schlüssel");
    await grant(t, victim, ["ORG_OWNER"], org);
    // The owner could grant ORG_OWNER in its own organization: its passkey stays.
    expect(await passkeysOf(victim)).toHaveLength(1);
    await grant(t, victim, ["IAM_USER_MANAGER"], null);
    expect(await passkeysOf(victim)).toEqual([]);
    const email = await emailOf(victim);
    const [mail] = await eventually("the German notice", () => {
      const mails = removedNotices(email, "Ein Passkey wurde von Ihrem Konto entfernt");
      return mails.length > 0 ? mails : undefined;
    });
    expect(mail!.text).toContain("Schlüssel");
  });

  it("removePasskey and removing the user end passkeys the same way, with events", async () => {
    const userId = await addHuman(t, org);
    const first = await registerWithCode(t, userId, await returnedCode(t, userId), "first");
    await registerWithCode(t, userId, await returnedCode(t, userId), "second");
    await t.ok(REMOVE_PASSKEY, { input: { userId, passkeyId: first } });
    const email = await emailOf(userId);
    await eventually("the removal notice", () => {
      const mails = removedNotices(email, "A passkey was removed from your account");
      return mails.some((mail) => mail.text.includes("first")) ? true : undefined;
    });
    await t.ok(stateChange("removeUser"), { input: { userId } });
    const rows = await t.app.services.db.read((db) =>
      db.query("SELECT id FROM passkeys WHERE user_id = ?", [userId]),
    );
    expect(rows).toEqual([]);
    const removed = (await eventsOf(userId))
      .filter((e) => e.event_type === "user.human.passwordless.token.removed")
      .map((e) => JSON.parse(e.payload).reason);
    expect(removed).toEqual(["removed", "user.removed"]);
  });
});

describe("2. security notices cannot be suppressed", () => {
  it("locking, unlocking and deactivating do not cancel a queued 'passkey added' notice", async () => {
    const userId = await addHuman(t, org);
    const email = await emailOf(userId);
    sink.mode = "reject-temporary";
    try {
      await registerWithCode(t, userId, await returnedCode(t, userId), "deferred key");
      await eventually("a deferred attempt", () =>
        sink.attemptedTo.includes(email) ? true : undefined,
      );
      await t.ok(stateChange("lockUser"), { input: { userId } });
      await t.ok(stateChange("unlockUser"), { input: { userId } });
      await t.ok(stateChange("deactivateUser"), { input: { userId } });
    } finally {
      sink.mode = "accept";
    }
    await eventually("the notice after all", () =>
      mailsTo(sink.mails, email).some((mail) => mail.text.includes("deferred key"))
        ? true
        : undefined,
    );
  });

  it("a link mail is still cancelled by locking", async () => {
    const userId = await addHuman(t, org);
    sink.mode = "reject-temporary";
    try {
      await t.ok(SEND_LINK, { input: { userId } });
      await t.ok(stateChange("lockUser"), { input: { userId } });
    } finally {
      sink.mode = "accept";
    }
    const [code] = await listCodes(t, userId);
    expect(code!.delivery!.state).toBe("FAILED");
  });
});

describe("4a. no challenge at rest", () => {
  it("stores a hash of the challenge: a database reader cannot answer a victim's ceremony", async () => {
    const userId = await addHuman(t, org);
    const opened = await registerPasskey(t, userId, await returnedCode(t, userId));
    const { passkeyId, publicKeyCredentialCreationOptions } = opened.data.registerPasskey;
    const challenge = publicKeyCredentialCreationOptions.publicKey.challenge as string;
    const [row] = await t.app.services.db.read((db) =>
      db.query<{ challenge: string }[]>(
        "SELECT challenge FROM passkey_registrations WHERE id = ?",
        [passkeyId],
      ),
    );
    expect(row!.challenge).not.toContain(challenge);
    expect(row!.challenge).toBe(createHash("sha256").update(challenge).digest("hex"));
    const attacker = softAuthenticatorFor(t).create(publicKeyCredentialCreationOptions.publicKey, {
      challenge: row!.challenge,
    });
    expectError(
      await verifyPasskey(t, { userId, passkeyId, publicKeyCredential: attacker }),
      "INVALID_ARGUMENT",
      "PASSKEY-verification-failed",
    );
    expect(await passkeysOf(userId)).toEqual([]);
  });
});

describe("5. bounded WebAuthn input", () => {
  it("keeps only the known transport names", async () => {
    const userId = await addHuman(t, org);
    const { passkeyId, result } = await verifyWith(userId, {
      transports: ["usb", "x".repeat(300), 7, { a: 1 }, "hybrid", "usb"],
    });
    expect(result.errors).toBeUndefined();
    const [row] = await t.app.services.db.read((db) =>
      db.query<{ transports: string }[]>("SELECT transports FROM passkeys WHERE id = ?", [
        passkeyId,
      ]),
    );
    expect(JSON.parse(row!.transports)).toEqual(["usb", "hybrid"]);
    const next = await registerPasskey(t, userId, await returnedCode(t, userId));
    expect(
      next.data.registerPasskey.publicKeyCredentialCreationOptions.publicKey.excludeCredentials[0]
        .transports,
    ).toEqual(["usb", "hybrid"]);
  });

  it("refuses a transports value that is not a list, a credential ID over 1023 bytes and crossOrigin", async () => {
    const userId = await addHuman(t, org);
    expect((await verifyWith(userId, { transports: 7 })).result.errors).toBeUndefined();
    expectError(
      (await verifyWith(userId, { credentialId: randomBytes(1024) })).result,
      "INVALID_ARGUMENT",
      "PASSKEY-credential-id-too-long",
    );
    expectError(
      (await verifyWith(userId, { crossOrigin: true })).result,
      "INVALID_ARGUMENT",
      "PASSKEY-cross-origin",
    );
    expect(await passkeysOf(userId)).toHaveLength(1);
  });

  it("refuses a public key that cannot verify: an unknown curve or a point off the curve", async () => {
    const userId = await addHuman(t, org);
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" });
    const x = Buffer.from(jwk.x!, "base64url");
    const y = Buffer.from(jwk.y!, "base64url");
    const cose = (curve: number, yBytes: Buffer) =>
      encodeCbor(
        new Map<number, number | Buffer>([
          [1, 2],
          [3, -7],
          [-1, curve],
          [-2, x],
          [-3, yBytes],
        ]),
      );
    const offCurve = Buffer.from(y);
    offCurve[31] = offCurve[31]! ^ 1;
    for (const coseKey of [cose(99, y), cose(1, offCurve), Buffer.from([0xa0])]) {
      const { result } = await verifyWith(userId, { coseKey });
      expect(result.errors?.[0]?.extensions.code).toBe("INVALID_ARGUMENT");
    }
    expect(await passkeysOf(userId)).toEqual([]);
  });

  it(`allows at most PASSKEY_MAX_PER_USER (${MAX_PASSKEYS}) passkeys, at registerPasskey and at verify`, async () => {
    const userId = await addHuman(t, org);
    for (let i = 1; i < MAX_PASSKEYS; i++)
      await registerWithCode(t, userId, await returnedCode(t, userId));
    // Two ceremonies open while one place is left: the second to finish is refused.
    const a = await verifyWith(userId, {});
    expect(a.result.errors).toBeUndefined();
    expectError(
      await registerPasskey(t, userId, await returnedCode(t, userId)),
      "RESOURCE_EXHAUSTED",
      "PASSKEY-max-per-user",
    );
    expect(await passkeysOf(userId)).toHaveLength(MAX_PASSKEYS);
  });

  it("refuses at verify the ceremony opened before the limit was reached", async () => {
    const userId = await addHuman(t, org);
    for (let i = 1; i < MAX_PASSKEYS; i++)
      await registerWithCode(t, userId, await returnedCode(t, userId));
    const first = await registerPasskey(t, userId, await returnedCode(t, userId));
    const second = await registerPasskey(t, userId, await returnedCode(t, userId));
    const answer = async (opened: typeof first) =>
      verifyPasskey(t, {
        userId,
        passkeyId: opened.data.registerPasskey.passkeyId,
        publicKeyCredential: softAuthenticatorFor(t).create(
          opened.data.registerPasskey.publicKeyCredentialCreationOptions.publicKey,
        ),
      });
    expect((await answer(first)).errors).toBeUndefined();
    expectError(await answer(second), "RESOURCE_EXHAUSTED", "PASSKEY-max-per-user");
    expect(await passkeysOf(userId)).toHaveLength(MAX_PASSKEYS);
  });
});

describe("6. tokens minted with a token end with it", () => {
  it("removing a planted token ends its children and grandchildren, with events; the listing shows grantedBy", async () => {
    const owner = await actor(t, org, ["ORG_OWNER"]);
    const victim = await addHuman(t, org);
    const planted = (await t.ok(ADD_PAT, { input: { userId: victim } }, { token: owner.token }))
      .addPersonalAccessToken as { tokenId: string; token: string };
    const child = (await t.ok(ADD_PAT, { input: { userId: victim } }, { token: planted.token }))
      .addPersonalAccessToken as { tokenId: string; token: string };
    const grandchild = (await t.ok(ADD_PAT, { input: { userId: victim } }, { token: child.token }))
      .addPersonalAccessToken as { tokenId: string; token: string };
    const own = (await t.ok(ADD_PAT, { input: { userId: victim } })).addPersonalAccessToken as {
      tokenId: string;
      token: string;
    };
    const listed = (await t.ok(LIST_PATS, { userId: victim })).personalAccessTokens as {
      id: string;
      createdBy: string;
      grantedBy: string;
    }[];
    expect(Object.fromEntries(listed.map((p) => [p.id, [p.createdBy, p.grantedBy]]))).toEqual({
      [planted.tokenId]: [owner.userId, owner.userId],
      [child.tokenId]: [victim, owner.userId],
      [grandchild.tokenId]: [victim, owner.userId],
      [own.tokenId]: [adminId, adminId],
    });

    await t.ok(
      REMOVE_PAT,
      { input: { userId: victim, tokenId: planted.tokenId } },
      {
        token: owner.token,
      },
    );

    expect(await works(child.token)).toBe(false);
    expect(await works(grandchild.token)).toBe(false);
    expect(await works(own.token)).toBe(true);
    const removed = (await eventsOf(victim))
      .filter((e) => e.event_type === "user.personal.token.removed")
      .map((e) => JSON.parse(e.payload));
    expect(removed).toEqual([
      { tokenId: planted.tokenId },
      { tokenId: child.tokenId, reason: "minter.removed", mintedWith: planted.tokenId },
      { tokenId: grandchild.tokenId, reason: "minter.removed", mintedWith: child.tokenId },
    ]);
  });
});

describe("11. the audit trail", () => {
  it("records an anonymous wrong guess with no caller, not as the target user", async () => {
    const userId = await addHuman(t, org);
    const code = await returnedCode(t, userId);
    expectError(
      await registerPasskey(t, userId, { id: code.id, code: "WRONGCODE1" }),
      "INVALID_ARGUMENT",
      "CODE-invalid",
    );
    const failed = (await eventsOf(userId)).filter((e) => e.event_type.endsWith("check.failed"));
    expect(failed.map((e) => e.creator)).toEqual([""]);
  });

  it("answers registerPasskey with a code alike for unknown, removed and existing users", async () => {
    const existing = await addHuman(t, org);
    const removed = await addHuman(t, org);
    await t.ok(stateChange("removeUser"), { input: { userId: removed } });
    const code = await returnedCode(t, existing);
    const answers = [];
    for (const userId of [existing, removed, "300000000000000000", "no such id"]) {
      const result = await registerPasskey(t, userId, { id: code.id, code: "WRONGCODE1" });
      answers.push({ status: result.status, errors: result.errors, data: result.data });
    }
    expect(answers[0]!.errors![0]!.extensions.details[0].id).toBe("CODE-invalid");
    for (const answer of answers.slice(1)) expect(answer).toEqual(answers[0]);
  });

  it("records no caller for a code-opened registration verified with an unrelated bearer", async () => {
    const bystander = await actor(t, org);
    const userId = await addHuman(t, org);
    const opened = await registerPasskey(
      t,
      userId,
      await returnedCode(t, userId),
      {},
      {
        token: bystander.token,
      },
    );
    const { passkeyId, publicKeyCredentialCreationOptions } = opened.data.registerPasskey;
    const response = softAuthenticatorFor(t).create(publicKeyCredentialCreationOptions.publicKey);
    const verified = await verifyPasskey(
      t,
      { userId, passkeyId, publicKeyCredential: response },
      { token: bystander.token },
    );
    expect(verified.errors).toBeUndefined();
    const creators = (await eventsOf(userId))
      .filter((e) => e.event_type.startsWith("user.human.passwordless.token."))
      .map((e) => e.creator);
    expect(creators).toEqual(["", ""]);
  });

  it("records a link mail cancelled while it was being sent as sent", async () => {
    const userId = await addHuman(t, org);
    const email = await emailOf(userId);
    sink.delayMs = 1500;
    try {
      await t.ok(SEND_LINK, { input: { userId } });
      // This mail's own send (another mail in flight, such as an earlier test's notice, is not
      // it: the lock would then cancel the link mail before any send).
      await eventually("the send in flight", () =>
        sink.attemptedTo.includes(email) ? true : undefined,
      );
      await t.ok(stateChange("lockUser"), { input: { userId } });
      await eventually("the mail", () =>
        mailsTo(sink.mails, email).length > 0 ? true : undefined,
      );
    } finally {
      sink.delayMs = 0;
    }
    // Between the sink accepting the mail and the worker recording it, the row reads as cancelled
    // (the lock's doing): wait for the worker's outcome, whose event it writes with the record.
    const outcome = await eventually("the recorded outcome", async () =>
      (await eventsOf(userId))
        .map((e) => e.event_type)
        .find((type) => /passwordless\.initialization\.code\.(sent|send\.failed)$/.test(type)),
    );
    expect(outcome).toBe("user.human.passwordless.initialization.code.sent");
    const [code] = await listCodes(t, userId);
    expect(code!.delivery).toMatchObject({ state: "SENT", lastError: null });
  });
});
