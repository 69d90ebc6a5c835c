// The sign-in scenario (issue 21, item 3): users with one passkey each, a software authenticator
// holding their P-256 keys (node:crypto, no browser), and a load run in which one "sign-in" is
// createSession {challenges.webAuthN} (discoverable: no user) → the challenge signed → setSession
// {checks.webAuthN}. The private keys never leave this process.
import type { KeyObject } from "node:crypto";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import autocannon from "autocannon";
import mysql from "mysql2/promise";
import { uuidV7 } from "../src/core/clock";
import { credentialHash } from "../src/services/passkeys/relying-party";
import { userHandleOf } from "../src/services/passkeys/passkey.service";
import { cpuSplitMs } from "./load";
import type { LoadResult } from "./load";

/** One passkey as its authenticator holds it. */
export interface SigninCredential {
  /** base64url credential ID, as the server stores it. */
  id: string;
  userId: string;
  /** base64url(utf8(userId)): what registration gave the authenticator as `user.id`. */
  userHandle: string;
  privateKey: KeyObject;
  /** The last count this authenticator reported; every assertion reports one more. */
  signCount: number;
  /** The client address the user signs in from (X-Forwarded-For; see `signinFrom`). */
  address: string;
}

export const CREATE_SESSION = `mutation($input: CreateSessionInput!) { createSession(input: $input) { details { sequence changeDate resourceOwner } sessionId sessionToken challenges { webAuthN { publicKeyCredentialRequestOptions } } } }`;
export const SET_SESSION = `mutation($input: SetSessionInput!) { setSession(input: $input) { details { sequence changeDate resourceOwner } sessionToken signals { rpId userId allAcceptedCredentialIds name displayName } } }`;

const CREATE_BODY = JSON.stringify({
  query: CREATE_SESSION,
  variables: {
    input: {
      challenges: {
        webAuthN: { userVerificationRequirement: "USER_VERIFICATION_REQUIREMENT_REQUIRED" },
      },
    },
  },
});

/** The COSE_Key of a P-256 public key (kty EC2, alg ES256, crv P-256, x, y): 77 bytes. */
function coseKey(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: "jwk" });
  return Buffer.concat([
    Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]),
    Buffer.from(jwk.x!, "base64url"),
    Buffer.from([0x22, 0x58, 0x20]),
    Buffer.from(jwk.y!, "base64url"),
  ]);
}

/**
 * Gives each of `users` one passkey: a fresh P-256 key pair here, the row inserted directly
 * (as a verified registration of a "none"-attestation platform authenticator would store it:
 * COSE public key, base64url credential ID and its SHA-256, count 0, transports ["internal"]).
 */
export async function seedPasskeys(
  databaseUrl: string,
  users: { id: string; organizationId: string }[],
): Promise<SigninCredential[]> {
  const connection = await mysql.createConnection({ uri: databaseUrl, timezone: "Z" });
  const credentials: SigninCredential[] = [];
  try {
    const now = new Date();
    for (let i = 0; i < users.length; i += 500) {
      const rows = users.slice(i, i + 500).map((user, j) => {
        const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
        const id = Buffer.from(uuidV7.next().replace(/-/g, ""), "hex").toString("base64url");
        const n = i + j;
        credentials.push({
          id,
          userId: user.id,
          userHandle: userHandleOf(user.id),
          privateKey,
          signCount: 0,
          address: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
        });
        return [
          uuidV7.next(),
          user.id,
          user.organizationId,
          id,
          credentialHash(id),
          coseKey(publicKey).toString("base64url"),
          0,
          JSON.stringify(["internal"]),
          "00000000-0000-0000-0000-000000000000",
          true,
          `Bench passkey ${n}`,
          null,
          user.id,
          true,
          null,
          false,
          null,
          now,
        ];
      });
      await connection.query(
        "INSERT INTO passkeys (id, user_id, organization_id, credential_id, credential_hash, public_key, sign_count, transports, aaguid, backed_up, name, registered_with_code_id, granted_by, backup_eligible, last_used_at, clone_warning, clone_notified_at, created_at) VALUES ?",
        [rows],
      );
    }
  } finally {
    await connection.end();
  }
  return credentials;
}

/** An AuthenticationResponseJSON for `challenge` from `credential`, its count one higher. */
export function assert(
  credential: SigninCredential,
  challenge: string,
  rpId: string,
  origin: string,
) {
  credential.signCount += 1;
  const authData = Buffer.alloc(37);
  createHash("sha256").update(rpId).digest().copy(authData, 0);
  authData[32] = 0x01 | 0x04 | 0x08 | 0x10; // UP, UV, BE, BS: a synced platform passkey
  authData.writeUInt32BE(credential.signCount, 33);
  const clientData = Buffer.from(
    JSON.stringify({ type: "webauthn.get", challenge, origin, crossOrigin: false }),
  );
  const signed = Buffer.concat([authData, createHash("sha256").update(clientData).digest()]);
  return {
    id: credential.id,
    rawId: credential.id,
    type: "public-key",
    response: {
      clientDataJSON: clientData.toString("base64url"),
      authenticatorData: authData.toString("base64url"),
      signature: sign("sha256", signed, credential.privateKey).toString("base64url"),
      userHandle: credential.userHandle,
    },
    clientExtensionResults: {},
    authenticatorAttachment: "platform",
  };
}

interface SignInContext {
  credential?: SigninCredential;
  started?: number;
  sessionId?: string;
  sessionToken?: string;
  challenge?: string;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;

/**
 * One autocannon run of sign-ins against a local port. Each connection sends createSession,
 * then setSession with the signed challenge, and again. A credential is taken from a shared
 * queue for one sign-in and put back at its end, so connections rotate through the users and
 * no two use one credential (one counter) at once. Rates, latencies and CPU are per sign-in (two
 * requests); a sign-in fails when either request does (transport, non-2xx or GraphQL errors).
 * `forwardedFor`: each credential sends its own address as X-Forwarded-For (the server runs
 * with TRUST_PROXY=1), as users on their own devices would; else all come from 127.0.0.1.
 */
export async function loadSignIns(
  pid: number,
  port: number,
  credentials: SigninCredential[],
  connections: number,
  seconds: number,
  options: { rpId: string; origin: string; forwardedFor: boolean },
): Promise<LoadResult> {
  if (credentials.length < connections) throw new Error("fewer credentials than connections");
  // From a random place, as the other scenarios rotate, so that short runs reach every user.
  const offset = Math.floor(Math.random() * credentials.length);
  const free = [...credentials.slice(offset), ...credentials.slice(0, offset)];
  const latencies: number[] = [];
  let failed = 0;
  let completed = 0;
  const headers = (credential: SigninCredential): Record<string, string> => ({
    "content-type": "application/json",
    ...(options.forwardedFor ? { "x-forwarded-for": credential.address } : {}),
  });
  const release = (context: SignInContext) => {
    if (context.credential) free.push(context.credential);
    context.credential = undefined;
  };
  const cpuBefore = cpuSplitMs(pid);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/graphql`,
    connections,
    duration: seconds,
    requests: [
      {
        method: "POST",
        setupRequest: (request, context: SignInContext) => {
          const credential = free.shift()!;
          context.credential = credential;
          context.started = performance.now();
          return { ...request, body: CREATE_BODY, headers: headers(credential) };
        },
        onResponse: (status, body, context: SignInContext) => {
          try {
            if (status !== 200 || body.includes('"errors"')) throw new Error("failed");
            const created = (
              JSON.parse(body) as {
                data: {
                  createSession: {
                    sessionId: string;
                    sessionToken: string;
                    challenges: {
                      webAuthN: {
                        publicKeyCredentialRequestOptions: { publicKey: { challenge: string } };
                      };
                    };
                  };
                };
              }
            ).data.createSession;
            context.sessionId = created.sessionId;
            context.sessionToken = created.sessionToken;
            context.challenge =
              created.challenges.webAuthN.publicKeyCredentialRequestOptions.publicKey.challenge;
          } catch {
            failed += 1;
            release(context);
          }
        },
      },
      {
        method: "POST",
        // Returning nothing (the first step failed) starts the next sign-in instead.
        setupRequest: (request, context: SignInContext) => {
          const credential = context.credential;
          if (!credential || !context.challenge) return undefined as never;
          const assertion = assert(credential, context.challenge, options.rpId, options.origin);
          return {
            ...request,
            body: JSON.stringify({
              query: SET_SESSION,
              variables: {
                input: {
                  sessionId: context.sessionId,
                  sessionToken: context.sessionToken,
                  checks: { webAuthN: { credentialAssertionData: assertion } },
                },
              },
            }),
            headers: headers(credential),
          };
        },
        onResponse: (status, body, context: SignInContext) => {
          if (status !== 200 || body.includes('"errors"')) failed += 1;
          else {
            completed += 1;
            latencies.push(performance.now() - context.started!);
          }
          release(context);
        },
      },
    ],
  });
  const cpuAfter = cpuSplitMs(pid);
  const user = cpuAfter.user - cpuBefore.user;
  const sys = cpuAfter.sys - cpuBefore.sys;
  // Requests still in flight when autocannon stopped may yet be committing: let them finish
  // before the next run signs with the same credentials (a lower count arriving last would
  // look like a clone).
  await new Promise((resolve) => setTimeout(resolve, 300));
  latencies.sort((a, b) => a - b);
  return {
    cpuMsPerRequest: completed > 0 ? (user + sys) / completed : 0,
    sysMsPerRequest: completed > 0 ? sys / completed : 0,
    rps: completed / seconds,
    p50: Math.round(percentile(latencies, 0.5) * 10) / 10,
    p99: Math.round(percentile(latencies, 0.99) * 10) / 10,
    errors: result.errors + result.timeouts + failed,
    requests: completed,
  };
}
