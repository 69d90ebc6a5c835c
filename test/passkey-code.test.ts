// The one-time check of a registration code (the function redemption will call) and the
// generator's uniform draw.
import { createHash } from "node:crypto";
import { CODE_ALPHABET, generateCode } from "../src/services/code-generator";
import { addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { startTestApp } from "./helpers/harness";

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

describe("verifyAndConsume", () => {
  let t: TestApp;
  let org: string;
  beforeAll(async () => {
    t = await startTestApp({ PASSKEY_CODE_MAX_FAILED_CHECKS: "3" });
    org = await addOrg(t);
  });
  afterAll(() => t.close());

  const CREATE = `mutation($input: CreatePasskeyRegistrationLinkInput!) { createPasskeyRegistrationLink(input: $input) { code { id code } } }`;
  const LIST = `query($userId: ID!) { passkeyRegistrationCodes(userId: $userId) { id state } }`;

  async function newCode(userId: string): Promise<{ id: string; code: string }> {
    return (await t.ok(CREATE, { input: { userId, returnCode: true } }))
      .createPasskeyRegistrationLink.code;
  }
  const check = (userId: string, codeId: string, code: string) =>
    t.app.services.passkeyCodes.verifyAndConsume(userId, codeId, code);
  const stateOf = async (userId: string, codeId: string) =>
    (await t.ok(LIST, { userId })).passkeyRegistrationCodes.find(
      (c: { id: string }) => c.id === codeId,
    ).state;

  it("accepts the right code once", async () => {
    const userId = await addHuman(t, org);
    const { id, code } = await newCode(userId);
    await expect(check(userId, id, code)).resolves.toEqual({ userId, codeId: id });
    expect(await stateOf(userId, id)).toBe("USED");
    await expect(check(userId, id, code)).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
      id: "CODE-used",
    });
  });

  it("keeps several pending codes independent: a new one does not end older ones", async () => {
    const userId = await addHuman(t, org);
    const first = await newCode(userId);
    const second = await newCode(userId);
    await expect(check(userId, second.id, second.code)).resolves.toBeTruthy();
    await expect(check(userId, first.id, first.code)).resolves.toBeTruthy();
  });

  it("counts failed checks (committed, not rolled back) and locks the code out after 3", async () => {
    const userId = await addHuman(t, org);
    const { id, code } = await newCode(userId);
    const wrong = code === "AAAAAAAAAAAA" ? "BBBBBBBBBBBB" : "AAAAAAAAAAAA";
    for (let i = 0; i < 2; i++) {
      await expect(check(userId, id, wrong)).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
        id: "CODE-invalid",
      });
      expect(await stateOf(userId, id)).toBe("ACTIVE");
    }
    await expect(check(userId, id, wrong)).rejects.toMatchObject({ id: "CODE-invalid" });
    expect(await stateOf(userId, id)).toBe("LOCKED_OUT");
    await expect(check(userId, id, code)).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
      id: "CODE-locked_out",
    });
  });

  it("refuses an expired code; expiry counts from creation", async () => {
    const userId = await addHuman(t, org);
    const { id, code } = await newCode(userId);
    t.clock.advance(3600 * 1000 - 1000);
    try {
      const other = await newCode(userId);
      t.clock.advance(2000);
      await expect(check(userId, id, code)).rejects.toMatchObject({ id: "CODE-expired" });
      await expect(check(userId, other.id, other.code)).resolves.toBeTruthy();
    } finally {
      t.clock.advance(-(3600 * 1000 + 1000));
    }
  });

  it("refuses a code of another user, and codes of an inactive user", async () => {
    const owner = await addHuman(t, org);
    const stranger = await addHuman(t, org);
    const { id, code } = await newCode(owner);
    await expect(check(stranger, id, code)).rejects.toMatchObject({
      code: "NOT_FOUND",
      id: "CODE-not-found",
    });
    await t.ok(`mutation { deactivateUser(input: {userId: "${owner}"}) { details { sequence } } }`);
    await expect(check(owner, id, code)).rejects.toMatchObject({ id: "CODE-user-not-active" });
  });

  it("stores only a keyed hash of the code", async () => {
    const userId = await addHuman(t, org);
    const { id, code } = await newCode(userId);
    const rows = await t.app.services.db.read((db) =>
      db.query<{ code_hash: string }[]>("SELECT * FROM passkey_codes WHERE id = ?", [id]),
    );
    expect(JSON.stringify(rows)).not.toContain(code);
    expect(rows[0]!.code_hash).toBe(t.app.services.keys.hashCode(code));
    expect(rows[0]!.code_hash).not.toBe(createHash("sha256").update(code).digest("hex"));
  });
});
