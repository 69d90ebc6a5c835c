// SPEC 14, inputs checked before the database: column lengths, control characters, exact IDs,
// dates a DATETIME column holds.
import { actor, addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { expectError, startTestApp } from "./helpers/harness";

const ADD_HUMAN = `mutation($input: AddHumanUserInput!) { addHumanUser(input: $input) { userId } }`;
const ADD_ORG = `mutation($input: AddOrganizationInput!) { addOrganization(input: $input) { organizationId } }`;
const USER = `query($id: ID!) { user(id: $id) { id } }`;
const CODES = `query($userId: ID!) { passkeyRegistrationCodes(userId: $userId) { id } }`;
const REVOKE = `mutation($input: RevokePasskeyRegistrationCodeInput!) { revokePasskeyRegistrationCode(input: $input) { details { sequence } } }`;
const CREATE = `mutation($input: CreatePasskeyRegistrationLinkInput!) { createPasskeyRegistrationLink(input: $input) { code { id } } }`;
const ADD_PAT = `mutation($input: AddPersonalAccessTokenInput!) { addPersonalAccessToken(input: $input) { tokenId } }`;
const LIST_PATS = `query($userId: ID!) { personalAccessTokens(userId: $userId) { expirationDate } }`;

let t: TestApp;
let org: string;
beforeAll(async () => {
  t = await startTestApp();
  org = await addOrg(t);
});
afterAll(() => t.close());

const human = (fields: Record<string, unknown>) => ({
  organizationId: org,
  username: `u-${Math.random().toString(36).slice(2)}`,
  givenName: "Ada",
  familyName: "Lovelace",
  ...fields,
});

describe("lengths", () => {
  it.each([
    // A well-formed tag (each subtag 2..8 characters), 41 characters: only the length is wrong.
    ["preferredLanguage", `en-${"abcdefgh-".repeat(4)}xy`],
    ["givenName", "a".repeat(201)],
    ["displayName", "a".repeat(201)],
    ["username", "a".repeat(201)],
    ["email", `${"a".repeat(64)}@${"b".repeat(60).concat(".").repeat(5)}example`],
  ])("refuses a %s longer than its column as INVALID_ARGUMENT", async (field, value) => {
    const result = await t.gql(ADD_HUMAN, { input: human({ [field]: value }) });
    const error = expectError(result, "INVALID_ARGUMENT", "USER-human-input");
    expect(error.message).toContain(field);
    expect(t.logs.join("")).not.toContain(value);
  });
});

describe("control characters", () => {
  it.each([
    ["a line break", "Ada\nThe button below is broken, use https://evil.example"],
    ["a carriage return", "Ada\r\nBcc: x@evil.example"],
    ["NUL", "Ada\u0000"],
    ["a bidi override", "Ada \u202Eelpmaxe.live"],
    ["a bidi isolate", "Ada \u2067x"],
    ["a line separator", "Ada\u2028x"],
  ])("refuses %s in names", async (_name, value) => {
    for (const field of ["givenName", "familyName", "displayName"]) {
      const result = await t.gql(ADD_HUMAN, { input: human({ [field]: value }) });
      expectError(result, "INVALID_ARGUMENT", "USER-human-input");
    }
    // Invisible characters (bidi controls) have an id of their own since issue 18, item 7.
    const orgError = expectError(
      await t.gql(ADD_ORG, { input: { name: value } }),
      "INVALID_ARGUMENT",
    );
    expect(["ORG-input", "ORG-name-invisible"]).toContain(orgError.extensions.details[0].id);
  });

  it("keeps names in other scripts, with joiners and accents", async () => {
    await t.ok(ADD_HUMAN, { input: human({ displayName: "میخواهم Zoë 👩‍💻" }) });
  });
});

describe("IDs compare exactly", () => {
  it("does not find an organization by its ID in upper case or with a trailing space", async () => {
    for (const organizationId of [org.toUpperCase(), `${org} `]) {
      const result = await t.gql(ADD_HUMAN, { input: human({ organizationId }) });
      expectError(result, "NOT_FOUND", "ORG-not-found");
    }
    const header = await t.gql(`{ me { id } }`, {}, { orgId: org.toUpperCase() });
    expectError(header, "NOT_FOUND", "ORG-not-found");
  });

  it("does not find a user or a code by a case-folded or padded ID", async () => {
    const userId = await addHuman(t, org);
    for (const id of [userId.toUpperCase(), `${userId} `]) {
      expectError(await t.gql(USER, { id }), "NOT_FOUND", "USER-not-found");
      expectError(await t.gql(CODES, { userId: id }), "NOT_FOUND", "USER-not-found");
    }
    const me = await actor(t, org);
    const codeId = (await t.ok(CREATE, { input: { userId: me.userId, returnCode: true } }))
      .createPasskeyRegistrationLink.code.id as string;
    for (const id of [codeId.toUpperCase(), `${codeId} `]) {
      const result = await t.gql(REVOKE, { input: { userId: me.userId, codeId: id } });
      expectError(result, "NOT_FOUND", "CODE-not-found");
    }
  });

  it("does not remove a personal access token by a case-folded or padded ID", async () => {
    const me = await actor(t, org);
    const { tokenId } = (
      await t.ok(
        `mutation($input: AddPersonalAccessTokenInput!) { addPersonalAccessToken(input: $input) { tokenId } }`,
        { input: { userId: me.userId } },
      )
    ).addPersonalAccessToken as { tokenId: string };
    for (const id of [tokenId.toUpperCase(), `${tokenId} `]) {
      const result = await t.gql(
        `mutation($input: RemovePersonalAccessTokenInput!) { removePersonalAccessToken(input: $input) { details { sequence } } }`,
        { input: { userId: me.userId, tokenId: id } },
      );
      expectError(result, "NOT_FOUND", "PAT-not-found");
    }
    const listed = await t.ok(
      `query($userId: ID!) { personalAccessTokens(userId: $userId) { id } }`,
      {
        userId: me.userId,
      },
    );
    expect(listed.personalAccessTokens.map((pat: { id: string }) => pat.id)).toContain(tokenId);
  });
});

describe("dates", () => {
  it.each([
    // Year 10000 in UTC, though 9999 where it is written.
    "9999-12-31T23:00:00-05:00",
    "9999-12-31T23:59:59.9999-00:01",
  ])("refuses %s, past what a DATETIME column holds, as INVALID_ARGUMENT", async (date) => {
    const userId = await addHuman(t, org);
    const result = await t.gql(ADD_PAT, { input: { userId, expirationDate: date } });
    const error = expectError(result, "INVALID_ARGUMENT", "PAT-input");
    expect(error.extensions.grpcCode).toBe(3);
    expect(error.message).toBe("expirationDate: must not be after 9999-12-31T23:59:59.999Z");
  });

  it("refuses a far-future date written in the document as well", async () => {
    const userId = await addHuman(t, org);
    const result = await t.gql(
      `mutation { addPersonalAccessToken(input: { userId: "${userId}", expirationDate: "9999-12-31T23:00:00-05:00" }) { tokenId } }`,
    );
    expectError(result, "INVALID_ARGUMENT", "PAT-input");
  });

  it("stores the last instant a DATETIME column holds, unchanged", async () => {
    const userId = await addHuman(t, org);
    const expirationDate = "9999-12-31T23:59:59.999Z";
    await t.ok(ADD_PAT, { input: { userId, expirationDate } });
    expect((await t.ok(LIST_PATS, { userId })).personalAccessTokens).toEqual([{ expirationDate }]);
  });

  it.each([
    "2099-02-30T10:00:00Z",
    "2099-02-29T10:00:00Z",
    "2099-04-31T10:00:00Z",
    "2099-01-01T24:00:00Z",
  ])("refuses %s, which is not on the calendar, with grpcCode 3", async (date) => {
    const userId = await addHuman(t, org);
    const result = await t.gql(ADD_PAT, { input: { userId, expirationDate: date } });
    const error = expectError(result, "BAD_USER_INPUT");
    expect(error.extensions.grpcCode).toBe(3);
    expect(error.message).toContain("DateTime is not a valid date");
    expect((await t.ok(LIST_PATS, { userId })).personalAccessTokens).toEqual([]);
  });
});
