// Builders for organizations, users, tokens and memberships, through the public API.
import { randomBytes } from "node:crypto";
import type { TestApp } from "./harness";

const unique = () => randomBytes(4).toString("hex");

export const DETAILS = "details { sequence creationDate changeDate resourceOwner }";

export async function addOrg(t: TestApp, name = `org-${unique()}`): Promise<string> {
  const data = await t.ok(
    `mutation($input: AddOrganizationInput!) { addOrganization(input: $input) { organizationId } }`,
    { input: { name } },
  );
  return data.addOrganization.organizationId;
}

export async function addHuman(
  t: TestApp,
  organizationId: string,
  fields: Record<string, unknown> = {},
  token?: string,
): Promise<string> {
  const username = `user-${unique()}`;
  const data = await t.ok(
    `mutation($input: AddHumanUserInput!) { addHumanUser(input: $input) { userId } }`,
    {
      input: {
        organizationId,
        username,
        email: `${username}@example.com`,
        givenName: "Ada",
        familyName: "Lovelace",
        ...fields,
      },
    },
    { token },
  );
  return data.addHumanUser.userId;
}

export async function addMachine(t: TestApp, organizationId: string): Promise<string> {
  const data = await t.ok(
    `mutation($input: AddMachineUserInput!) { addMachineUser(input: $input) { userId } }`,
    { input: { organizationId, username: `bot-${unique()}`, name: "Robot" } },
  );
  return data.addMachineUser.userId;
}

export async function tokenFor(
  t: TestApp,
  userId: string,
  expirationDate?: string,
): Promise<string> {
  const data = await t.ok(
    `mutation($input: AddPersonalAccessTokenInput!) { addPersonalAccessToken(input: $input) { token } }`,
    { input: { userId, expirationDate } },
  );
  return data.addPersonalAccessToken.token;
}

export async function grant(
  t: TestApp,
  userId: string,
  roles: string[],
  organizationId: string | null,
): Promise<void> {
  await t.ok(
    `mutation($input: AddMemberInput!) { addMember(input: $input) { details { sequence } } }`,
    {
      input: { organizationId, userId, roles },
    },
  );
}

/** A human user with a token, optionally holding roles. */
export async function actor(
  t: TestApp,
  organizationId: string,
  roles: string[] = [],
  roleOrg: string | null = organizationId,
): Promise<{ userId: string; token: string }> {
  const userId = await addHuman(t, organizationId);
  if (roles.length > 0) await grant(t, userId, roles, roleOrg);
  return { userId, token: await tokenFor(t, userId) };
}
