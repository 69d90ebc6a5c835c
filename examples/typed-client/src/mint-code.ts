// Mints a registration code for a user and lists the user's codes, as one JSON document on stdout.
// Usage: PASSKEY_LINK_TOKEN=<token> node dist/mint-code.js <graphql-url> <user-id>
// (the token comes from the environment so that it does not show in process listings).
import { ApiRequestError, createClient } from "./client";
import {
  CreatePasskeyRegistrationLinkDocument,
  PasskeyRegistrationCodesDocument,
} from "./generated/graphql";

async function main(): Promise<void> {
  const [url, userId] = process.argv.slice(2);
  const token = process.env.PASSKEY_LINK_TOKEN;
  if (!url || !userId || !token) {
    process.stderr.write(
      "usage: PASSKEY_LINK_TOKEN=<token> node dist/mint-code.js <graphql-url> <user-id>\n",
    );
    process.exit(2);
  }
  const request = createClient({ url, token });
  const minted = await request(CreatePasskeyRegistrationLinkDocument, {
    input: { userId, returnCode: true },
  });
  const { passkeyRegistrationCodes } = await request(PasskeyRegistrationCodesDocument, { userId });
  const result = {
    code: minted.createPasskeyRegistrationLink.code,
    sequence: minted.createPasskeyRegistrationLink.details.sequence,
    codes: passkeyRegistrationCodes,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    error instanceof ApiRequestError ? `${error.message}\n` : `${String(error)}\n`,
  );
  process.exit(1);
});
