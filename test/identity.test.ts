// The identity surface over HTTP: each operation allowed and denied, states, org context.
import { DETAILS, actor, addHuman, addMachine, addOrg, grant, tokenFor } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { expectError, startTestApp } from "./helpers/harness";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const ADD_ORG = `mutation($input: AddOrganizationInput!) { addOrganization(input: $input) { ${DETAILS} organizationId } }`;
const ADD_HUMAN = `mutation($input: AddHumanUserInput!) { addHumanUser(input: $input) { ${DETAILS} userId } }`;
const ADD_MACHINE = `mutation($input: AddMachineUserInput!) { addMachineUser(input: $input) { ${DETAILS} userId } }`;
const ADD_PAT = `mutation($input: AddPersonalAccessTokenInput!) { addPersonalAccessToken(input: $input) { ${DETAILS} tokenId token } }`;
const ADD_MEMBER = `mutation($input: AddMemberInput!) { addMember(input: $input) { ${DETAILS} } }`;
const USER = `query($id: ID!) { user(id: $id) { id organizationId type state username email emailVerified preferredLanguage displayName } }`;
const stateChange = (name: string) =>
  `mutation($input: UserIdInput!) { ${name}(input: $input) { ${DETAILS} } }`;

describe("addOrganization", () => {
  it("lets an instance owner create an organization and reports v1 details", async () => {
    const data = await t.ok(ADD_ORG, { input: { name: "  Acme  " } });
    const { details, organizationId } = data.addOrganization;
    expect(organizationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(details.resourceOwner).toBe(organizationId);
    expect(details.sequence).toBe("1");
    expect(details.creationDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(details.changeDate).toBe(details.creationDate);
  });

  it("refuses an organization owner (instance owners only)", async () => {
    const org = await addOrg(t);
    const owner = await actor(t, org, ["ORG_OWNER"]);
    expectError(
      await t.gql(ADD_ORG, { input: { name: "Nope" } }, { token: owner.token }),
      "PERMISSION_DENIED",
    );
  });

  it("rejects an empty name", async () => {
    expectError(await t.gql(ADD_ORG, { input: { name: "   " } }), "INVALID_ARGUMENT", "ORG-input");
  });

  it("answers UNAUTHENTICATED without a token", async () => {
    expectError(await t.gql(ADD_ORG, { input: { name: "x" } }, { token: null }), "UNAUTHENTICATED");
  });
});

describe("addHumanUser and addMachineUser", () => {
  it("creates a human user readable through user(id)", async () => {
    const org = await addOrg(t);
    const data = await t.ok(ADD_HUMAN, {
      input: {
        organizationId: org,
        username: "grace",
        email: "grace@example.com",
        emailVerified: true,
        givenName: "Grace",
        familyName: "Hopper",
        preferredLanguage: "de",
      },
    });
    expect(data.addHumanUser.details.resourceOwner).toBe(org);
    expect(data.addHumanUser.details.sequence).toBe("1");
    const user = (await t.ok(USER, { id: data.addHumanUser.userId })).user;
    expect(user).toEqual({
      id: data.addHumanUser.userId,
      organizationId: org,
      type: "HUMAN",
      state: "ACTIVE",
      username: "grace",
      email: "grace@example.com",
      emailVerified: true,
      preferredLanguage: "de",
      displayName: "Grace Hopper",
    });
  });

  it("uses the x-zitadel-orgid context when organizationId is omitted", async () => {
    const org = await addOrg(t);
    const data = await t.ok(
      ADD_MACHINE,
      { input: { username: "ci-bot", name: "CI" } },
      { orgId: org },
    );
    expect(data.addMachineUser.details.resourceOwner).toBe(org);
    const user = (await t.ok(USER, { id: data.addMachineUser.userId })).user;
    expect(user).toMatchObject({
      type: "MACHINE",
      organizationId: org,
      email: null,
      displayName: "CI",
    });
  });

  it("defaults to the caller's own organization without header or organizationId", async () => {
    const org = await addOrg(t);
    const manager = await actor(t, org, ["ORG_USER_MANAGER"]);
    const data = await t.ok(
      ADD_MACHINE,
      { input: { username: "own-org-bot", name: "Bot" } },
      { token: manager.token },
    );
    expect(data.addMachineUser.details.resourceOwner).toBe(org);
  });

  it("refuses a manager of another organization", async () => {
    const orgA = await addOrg(t);
    const orgB = await addOrg(t);
    const ownerA = await actor(t, orgA, ["ORG_OWNER"]);
    const result = await t.gql(
      ADD_HUMAN,
      {
        input: {
          organizationId: orgB,
          username: "x",
          email: "x@example.com",
          givenName: "X",
          familyName: "Y",
        },
      },
      { token: ownerA.token },
    );
    expectError(result, "PERMISSION_DENIED");
  });

  it("answers NOT_FOUND for an unknown organization", async () => {
    const result = await t.gql(ADD_MACHINE, {
      input: { organizationId: "00000000-0000-7000-8000-000000000000", username: "x", name: "X" },
    });
    expectError(result, "NOT_FOUND", "ORG-not-found");
  });

  it("rejects a taken username (case-insensitively) and bad fields", async () => {
    const org = await addOrg(t);
    const input = {
      organizationId: org,
      username: "Linus",
      email: "l@example.com",
      givenName: "L",
      familyName: "T",
    };
    await t.ok(ADD_HUMAN, { input });
    expectError(
      await t.gql(ADD_HUMAN, { input: { ...input, username: "linus" } }),
      "ALREADY_EXISTS",
    );
    expectError(
      await t.gql(ADD_HUMAN, { input: { ...input, username: "x", email: "not-an-email" } }),
      "INVALID_ARGUMENT",
    );
    expectError(
      await t.gql(ADD_HUMAN, { input: { ...input, username: "y", preferredLanguage: "german!" } }),
      "INVALID_ARGUMENT",
    );
    expectError(
      await t.gql(ADD_HUMAN, { input: { ...input, username: "has space" } }),
      "INVALID_ARGUMENT",
    );
  });
});

describe("me and user", () => {
  it("returns the caller for me, and lets users read themselves without permission", async () => {
    const org = await addOrg(t);
    const alice = await actor(t, org);
    const me = (await t.ok(`{ me { id organizationId type } }`, {}, { token: alice.token })).me;
    expect(me).toEqual({ id: alice.userId, organizationId: org, type: "HUMAN" });
    const self = await t.ok(USER, { id: alice.userId }, { token: alice.token });
    expect(self.user.id).toBe(alice.userId);
  });

  it("needs user.read in the target's organization to read someone else", async () => {
    const org = await addOrg(t);
    const other = await addOrg(t);
    const alice = await actor(t, org);
    const bob = await addHuman(t, org);
    const stranger = await addHuman(t, other);
    expectError(await t.gql(USER, { id: bob }, { token: alice.token }), "PERMISSION_DENIED");
    const manager = await actor(t, org, ["ORG_USER_MANAGER"]);
    expect((await t.ok(USER, { id: bob }, { token: manager.token })).user.id).toBe(bob);
    expectError(await t.gql(USER, { id: stranger }, { token: manager.token }), "PERMISSION_DENIED");
  });

  it("answers NOT_FOUND before PERMISSION_DENIED for a missing user", async () => {
    const org = await addOrg(t);
    const alice = await actor(t, org);
    expectError(
      await t.gql(USER, { id: "00000000-0000-7000-8000-000000000000" }, { token: alice.token }),
      "NOT_FOUND",
      "USER-not-found",
    );
  });
});

describe("addPersonalAccessToken", () => {
  it("lets users mint tokens for themselves and admins for others; the token works once minted", async () => {
    const org = await addOrg(t);
    const alice = await actor(t, org);
    const own = await t.ok(ADD_PAT, { input: { userId: alice.userId } }, { token: alice.token });
    expect(own.addPersonalAccessToken.token).toMatch(/^plk_[A-Za-z0-9_-]{43}$/);
    expect(own.addPersonalAccessToken.details.resourceOwner).toBe(org);
    const me = await t.ok(`{ me { id } }`, {}, { token: own.addPersonalAccessToken.token });
    expect(me.me.id).toBe(alice.userId);
  });

  it("needs user.credential.write for another user: ORG_USER_MANAGER lacks it, ORG_OWNER has it", async () => {
    const org = await addOrg(t);
    const bob = await addHuman(t, org);
    const manager = await actor(t, org, ["ORG_USER_MANAGER"]);
    const owner = await actor(t, org, ["ORG_OWNER"]);
    expectError(
      await t.gql(ADD_PAT, { input: { userId: bob } }, { token: manager.token }),
      "PERMISSION_DENIED",
    );
    const minted = await t.ok(ADD_PAT, { input: { userId: bob } }, { token: owner.token });
    expect(minted.addPersonalAccessToken.tokenId).toBeTruthy();
  });

  it("rejects an expiration in the past", async () => {
    const org = await addOrg(t);
    const bob = await addHuman(t, org);
    const result = await t.gql(ADD_PAT, {
      input: { userId: bob, expirationDate: "2020-01-01T00:00:00.000Z" },
    });
    expectError(result, "INVALID_ARGUMENT", "PAT-input");
  });

  it("stores only a hash of the token", async () => {
    const org = await addOrg(t);
    const bob = await addHuman(t, org);
    const token = await tokenFor(t, bob);
    const rows = await t.app.services.db.read((db) =>
      db.query("SELECT * FROM personal_access_tokens"),
    );
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(JSON.stringify(rows)).not.toContain(token.slice(4));
  });
});

describe("addMember", () => {
  it("grants organization roles that then authorize in that organization only", async () => {
    const org = await addOrg(t);
    const other = await addOrg(t);
    const carol = await actor(t, org);
    const target = await addHuman(t, org);
    expectError(await t.gql(USER, { id: target }, { token: carol.token }), "PERMISSION_DENIED");
    const data = await t.ok(ADD_MEMBER, {
      input: { organizationId: org, userId: carol.userId, roles: ["ORG_OWNER"] },
    });
    expect(data.addMember.details.resourceOwner).toBe(org);
    expect((await t.ok(USER, { id: target }, { token: carol.token })).user.id).toBe(target);
    const foreign = await addHuman(t, other);
    expectError(await t.gql(USER, { id: foreign }, { token: carol.token }), "PERMISSION_DENIED");
  });

  it("grants instance roles that apply in every organization", async () => {
    const org = await addOrg(t);
    const other = await addOrg(t);
    const iamManager = await actor(t, org, ["IAM_USER_MANAGER"], null);
    const foreign = await addHuman(t, other);
    expect((await t.ok(USER, { id: foreign }, { token: iamManager.token })).user.id).toBe(foreign);
  });

  it("rejects unknown roles, roles of the wrong level, duplicates and non-owners", async () => {
    const org = await addOrg(t);
    const dave = await addHuman(t, org);
    expectError(
      await t.gql(ADD_MEMBER, { input: { organizationId: org, userId: dave, roles: ["GOD"] } }),
      "INVALID_ARGUMENT",
    );
    expectError(
      await t.gql(ADD_MEMBER, {
        input: { organizationId: org, userId: dave, roles: ["IAM_OWNER"] },
      }),
      "INVALID_ARGUMENT",
    );
    expectError(
      await t.gql(ADD_MEMBER, {
        input: { organizationId: null, userId: dave, roles: ["ORG_OWNER"] },
      }),
      "INVALID_ARGUMENT",
    );
    expectError(
      await t.gql(ADD_MEMBER, { input: { organizationId: org, userId: dave, roles: [] } }),
      "INVALID_ARGUMENT",
    );
    await grant(t, dave, ["ORG_USER_MANAGER"], org);
    expectError(
      await t.gql(ADD_MEMBER, {
        input: { organizationId: org, userId: dave, roles: ["ORG_OWNER"] },
      }),
      "ALREADY_EXISTS",
    );
    const manager = await actor(t, org, ["ORG_USER_MANAGER"]);
    const erin = await addHuman(t, org);
    expectError(
      await t.gql(
        ADD_MEMBER,
        { input: { organizationId: org, userId: erin, roles: ["ORG_OWNER"] } },
        { token: manager.token },
      ),
      "PERMISSION_DENIED",
    );
    const owner = await actor(t, org, ["ORG_OWNER"]);
    expectError(
      await t.gql(
        ADD_MEMBER,
        { input: { organizationId: null, userId: erin, roles: ["IAM_OWNER"] } },
        { token: owner.token },
      ),
      "PERMISSION_DENIED",
    );
  });
});

describe("user states", () => {
  it("deactivates and reactivates; deactivation ends the user's tokens for good", async () => {
    const org = await addOrg(t);
    const frank = await actor(t, org);
    const deactivated = await t.ok(stateChange("deactivateUser"), {
      input: { userId: frank.userId },
    });
    expect(Number(deactivated.deactivateUser.details.sequence)).toBeGreaterThan(1);
    expect((await t.ok(USER, { id: frank.userId })).user.state).toBe("INACTIVE");
    const denied = await t.gql(`{ me { id } }`, {}, { token: frank.token });
    expect(denied.status).toBe(401);
    expectError(
      await t.gql(stateChange("deactivateUser"), { input: { userId: frank.userId } }),
      "FAILED_PRECONDITION",
    );
    await t.ok(stateChange("reactivateUser"), { input: { userId: frank.userId } });
    expect((await t.gql(`{ me { id } }`, {}, { token: frank.token })).status).toBe(401);
    const fresh = await tokenFor(t, frank.userId);
    expect((await t.ok(`{ me { id } }`, {}, { token: fresh })).me.id).toBe(frank.userId);
  });

  it("locks and unlocks, refusing transitions from the wrong state", async () => {
    const org = await addOrg(t);
    const gina = await addHuman(t, org);
    expectError(
      await t.gql(stateChange("unlockUser"), { input: { userId: gina } }),
      "FAILED_PRECONDITION",
    );
    await t.ok(stateChange("lockUser"), { input: { userId: gina } });
    expect((await t.ok(USER, { id: gina })).user.state).toBe("LOCKED");
    expectError(
      await t.gql(stateChange("lockUser"), { input: { userId: gina } }),
      "FAILED_PRECONDITION",
    );
    expectError(
      await t.gql(stateChange("reactivateUser"), { input: { userId: gina } }),
      "FAILED_PRECONDITION",
    );
    await t.ok(stateChange("unlockUser"), { input: { userId: gina } });
    expect((await t.ok(USER, { id: gina })).user.state).toBe("ACTIVE");
  });

  it("removes a user: NOT_FOUND afterwards, token revoked, username free again", async () => {
    const org = await addOrg(t);
    const hank = await actor(t, org);
    const before = (await t.ok(USER, { id: hank.userId })).user;
    await t.ok(stateChange("removeUser"), { input: { userId: hank.userId } });
    expectError(await t.gql(USER, { id: hank.userId }), "NOT_FOUND");
    expectError(
      await t.gql(stateChange("removeUser"), { input: { userId: hank.userId } }),
      "NOT_FOUND",
    );
    expect((await t.gql(`{ me { id } }`, {}, { token: hank.token })).status).toBe(401);
    const again = await addHuman(t, org, { username: before.username });
    expect(again).not.toBe(hank.userId);
  });

  it("needs user.write in the target's organization and never lets a user remove itself", async () => {
    const org = await addOrg(t);
    const other = await addOrg(t);
    const owner = await actor(t, org, ["ORG_OWNER"]);
    const foreign = await addHuman(t, other);
    expectError(
      await t.gql(stateChange("lockUser"), { input: { userId: foreign } }, { token: owner.token }),
      "PERMISSION_DENIED",
    );
    const plain = await actor(t, org);
    const victim = await addHuman(t, org);
    expectError(
      await t.gql(
        stateChange("deactivateUser"),
        { input: { userId: victim } },
        { token: plain.token },
      ),
      "PERMISSION_DENIED",
    );
    expectError(
      await t.gql(
        stateChange("removeUser"),
        { input: { userId: owner.userId } },
        { token: owner.token },
      ),
      "FAILED_PRECONDITION",
      "USER-self",
    );
  });

  it("works on machine users too", async () => {
    const org = await addOrg(t);
    const bot = await addMachine(t, org);
    await t.ok(stateChange("deactivateUser"), { input: { userId: bot } });
    expect((await t.ok(USER, { id: bot })).user.state).toBe("INACTIVE");
  });
});

describe("users holding instance roles", () => {
  it("can be acted on only by instance owners, so no organization admin can become one", async () => {
    const { me: admin } = await t.ok(`{ me { id organizationId } }`);
    const owner = await actor(t, admin.organizationId, ["ORG_OWNER"]);
    const manager = await actor(t, admin.organizationId, ["ORG_USER_MANAGER"]);
    const minted = await t.gql(ADD_PAT, { input: { userId: admin.id } }, { token: owner.token });
    expectError(minted, "PERMISSION_DENIED", "AUTHZ-target-privileged");
    expectError(
      await t.gql(
        stateChange("lockUser"),
        { input: { userId: admin.id } },
        { token: manager.token },
      ),
      "PERMISSION_DENIED",
      "AUTHZ-target-privileged",
    );
    // Reading stays allowed, and an instance owner may act on another instance-level user.
    expect((await t.ok(USER, { id: admin.id }, { token: manager.token })).user.id).toBe(admin.id);
    const iamManager = await actor(t, admin.organizationId, ["IAM_USER_MANAGER"], null);
    expect(
      (await t.ok(ADD_PAT, { input: { userId: iamManager.userId } })).addPersonalAccessToken.token,
    ).toBeTruthy();
  });
});
