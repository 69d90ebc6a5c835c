// The check of a registration code when a passkey registration opens, and the generator's
// uniform draw.
import { createHash } from "node:crypto";
import { CODE_ALPHABET, generateCode } from "../src/services/links/code-generator";
import { addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { expectError, onlyError, startTestApp } from "./helpers/harness";
import { registerPasskey, registerWithCode, returnedCode } from "./helpers/passkeys";

describe("generateCode", () => {
  it("draws every character equally often from a uniform byte source (no modulo bias)", () => {
    let next = 0;
    const everyByteOnce = (size: number) =>
      Buffer.from(Array.from({ length: size }, () => next++ % 256));
    const code = generateCode(248, everyByteOnce);
    const counts = new Map<string, number>();
    for (const char of code) counts.set(char, (counts.get(char) ?? 0) + 1);
    expect(counts.size).toBe(62);
    expect(new Set(counts.values())).toEqual(new Set([4]));
  });

  it("skips bytes that would bias the draw", () => {
    const biased = [248, 255, 0, 249, 61, 62];
    const code = generateCode(3, () => Buffer.from(biased.splice(0, 6)));
    expect(code).toBe(`${CODE_ALPHABET[0]}${CODE_ALPHABET[61]}${CODE_ALPHABET[0]}`);
  });
});

describe("the code check of registerPasskey", () => {
  let t: TestApp;
  let org: string;
  beforeAll(async () => {
    t = await startTestApp({ PASSKEY_CODE_MAX_FAILED_CHECKS: "3" });
    org = await addOrg(t);
  });
  afterAll(() => t.close());

  const LIST = `query($userId: ID!) { passkeyRegistrationCodes(userId: $userId) { id state } }`;

  const check = (userId: string, codeId: string, code: string) =>
    registerPasskey(t, userId, { id: codeId, code });
  const stateOf = async (userId: string, codeId: string) =>
    (await t.ok(LIST, { userId })).passkeyRegistrationCodes.find(
      (c: { id: string }) => c.id === codeId,
    ).state;
  const failedChecksOf = async (codeId: string) =>
    (
      await t.app.services.db.read((db) =>
        db.query<{ failed_checks: number }[]>(
          "SELECT failed_checks FROM passkey_codes WHERE id = ?",
          [codeId],
        ),
      )
    )[0]!.failed_checks;

  it("accepts the right code without spending it: only a stored passkey does", async () => {
    const userId = await addHuman(t, org);
    const { id, code } = await returnedCode(t, userId);
    expect((await check(userId, id, code)).errors).toBeUndefined();
    expect(await stateOf(userId, id)).toBe("ACTIVE");
    expect((await check(userId, id, code)).errors).toBeUndefined();
    expect(await failedChecksOf(id)).toBe(0);
  });

  it("keeps several pending codes independent: a new one does not end older ones", async () => {
    const userId = await addHuman(t, org);
    const first = await returnedCode(t, userId);
    const second = await returnedCode(t, userId);
    await registerWithCode(t, userId, second);
    expect((await check(userId, first.id, first.code)).errors).toBeUndefined();
    expect(await stateOf(userId, first.id)).toBe("ACTIVE");
  });

  it("counts failed checks (committed, not rolled back) and locks the code out after 3", async () => {
    const userId = await addHuman(t, org);
    const { id, code } = await returnedCode(t, userId);
    const wrong = code === "AAAAAAAAAAAA" ? "BBBBBBBBBBBB" : "AAAAAAAAAAAA";
    for (let i = 1; i <= 2; i++) {
      expectError(await check(userId, id, wrong), "INVALID_ARGUMENT", "CODE-invalid");
      expect(await stateOf(userId, id)).toBe("ACTIVE");
      expect(await failedChecksOf(id)).toBe(i);
    }
    expectError(await check(userId, id, wrong), "INVALID_ARGUMENT", "CODE-invalid");
    expect(await stateOf(userId, id)).toBe("LOCKED_OUT");
    expectError(await check(userId, id, code), "FAILED_PRECONDITION", "CODE-locked_out");
    const events = await t.app.services.db.read((db) =>
      db.query<{ payload: string }[]>(
        "SELECT payload FROM events WHERE aggregate_id = ? AND event_type = ? ORDER BY sequence",
        [userId, "user.human.passwordless.initialization.code.check.failed"],
      ),
    );
    expect(events.map((event) => JSON.parse(event.payload))).toEqual([
      { codeId: id, failedChecks: 1, lockedOut: false },
      { codeId: id, failedChecks: 2, lockedOut: false },
      { codeId: id, failedChecks: 3, lockedOut: true },
    ]);
  });

  it("is never run by a GET: a link scanner following /graphql?query=… counts nothing", async () => {
    const userId = await addHuman(t, org);
    const { id } = await returnedCode(t, userId);
    const query = `mutation { registerPasskey(input: {userId: "${userId}", code: {id: "${id}", code: "wrongwrongxx"}}) { passkeyId } }`;
    const response = await fetch(`${t.url}/graphql?query=${encodeURIComponent(query)}`, {
      headers: { "apollo-require-preflight": "true" },
    });
    expect(response.status).toBe(405);
    expect(await failedChecksOf(id)).toBe(0);
    expect(await stateOf(userId, id)).toBe("ACTIVE");
  });

  it("answers an unknown code ID exactly like a wrong value", async () => {
    const userId = await addHuman(t, org);
    const { id, code } = await returnedCode(t, userId);
    const wrongValue = onlyError(await check(userId, id, `${code.slice(1)}x`));
    const unknownId = onlyError(await check(userId, "0190b1a2-0000-7000-8000-000000000000", code));
    expect(unknownId).toEqual(wrongValue);
  });

  it("refuses an expired code; expiry counts from creation", async () => {
    const userId = await addHuman(t, org);
    const { id, code } = await returnedCode(t, userId);
    t.clock.advance(3600 * 1000 - 1000);
    try {
      const other = await returnedCode(t, userId);
      t.clock.advance(2000);
      expectError(await check(userId, id, code), "FAILED_PRECONDITION", "CODE-expired");
      expect((await check(userId, other.id, other.code)).errors).toBeUndefined();
    } finally {
      t.clock.advance(-(3600 * 1000 + 1000));
    }
  });

  it("refuses a code of another user, and codes of an inactive user", async () => {
    const owner = await addHuman(t, org);
    const stranger = await addHuman(t, org);
    const { id, code } = await returnedCode(t, owner);
    expectError(await check(stranger, id, code), "INVALID_ARGUMENT", "CODE-invalid");
    await t.ok(`mutation { deactivateUser(input: {userId: "${owner}"}) { details { sequence } } }`);
    // Deactivating revoked the code (SPEC 13); the code is checked before the user's state.
    expectError(await check(owner, id, code), "FAILED_PRECONDITION", "CODE-revoked");
  });

  it("stores only a keyed hash of the code", async () => {
    const userId = await addHuman(t, org);
    const { id, code } = await returnedCode(t, userId);
    const rows = await t.app.services.db.read((db) =>
      db.query<{ code_hash: string }[]>("SELECT * FROM passkey_codes WHERE id = ?", [id]),
    );
    expect(JSON.stringify(rows)).not.toContain(code);
    expect(rows[0]!.code_hash).toBe(t.app.services.keys.hashCode(code));
    expect(rows[0]!.code_hash).not.toBe(createHash("sha256").update(code).digest("hex"));
  });
});
