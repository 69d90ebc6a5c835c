// Every entity the DataSource maps.
import { EventEntity } from "./event.entity";
import { InstanceEntity } from "./instance.entity";
import { MailRecipientEntity } from "./mail-recipient.entity";
import { MembershipEntity } from "./membership.entity";
import { OrganizationEntity } from "./organization.entity";
import { OutboxMessageEntity } from "./outbox-message.entity";
import { PasskeyCodeEntity } from "./passkey-code.entity";
import { PasskeyRegistrationEntity } from "./passkey-registration.entity";
import { PasskeyEntity } from "./passkey.entity";
import { PersonalAccessTokenEntity } from "./personal-access-token.entity";
import { SessionChallengeEntity } from "./session-challenge.entity";
import { SessionPasskeyEntity } from "./session-passkey.entity";
import { SessionEntity } from "./session.entity";
import { SigninBudgetEntity } from "./signin-budget.entity";
import { UserEntity } from "./user.entity";

export const ENTITIES = [
  OrganizationEntity,
  UserEntity,
  MembershipEntity,
  PersonalAccessTokenEntity,
  EventEntity,
  InstanceEntity,
  PasskeyCodeEntity,
  OutboxMessageEntity,
  PasskeyEntity,
  PasskeyRegistrationEntity,
  MailRecipientEntity,
  SessionEntity,
  SessionChallengeEntity,
  SessionPasskeyEntity,
  SigninBudgetEntity,
];
