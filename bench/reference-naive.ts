// The independent check's naive reference (issue 21, item 1): createPasskeyRegistrationLink as a
// plain Apollo + type-graphql + TypeORM server would write it, with less work than ours — no
// token lookup, no permission, no lock, no event, no request log or metrics: the user read with
// `findOneBy`, the code stored with `save` (which looks the new row up by its ID, then inserts it
// in a transaction of its own), the answer in our shape. The same stack and driver options as
// the server (Apollo on Fastify, a TypeORM pool of 10 over mysql2, `trace: false`), so what the
// comparison shows is what our own layers cost. Started by bench/run.ts:
//   node dist/bench/reference-naive.js <port> <databaseUrl>
import "reflect-metadata";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { ApolloServer } from "@apollo/server";
import fastifyApollo from "@as-integrations/fastify";
import Fastify from "fastify";
import {
  Arg,
  Field,
  ID,
  InputType,
  Mutation,
  ObjectType,
  Query,
  Resolver,
  buildSchema,
} from "type-graphql";
import { createDataSource } from "../src/db/data-source";
import { PasskeyCodeEntity } from "../src/entities/passkey-code.entity";
import { UserEntity } from "../src/entities/user.entity";
import { generateCode } from "../src/services/links/code-generator";

const [, , portArg, databaseUrl] = process.argv;
const codeKey = randomBytes(32);

@InputType()
class CreatePasskeyRegistrationLinkInput {
  @Field(() => ID)
  userId!: string;

  @Field({ nullable: true })
  returnCode?: boolean;
}

@ObjectType()
class Details {
  @Field()
  sequence!: string;

  @Field()
  changeDate!: string;

  @Field()
  resourceOwner!: string;
}

@ObjectType()
class Code {
  @Field(() => ID)
  id!: string;

  @Field()
  code!: string;
}

@ObjectType()
class CreatePasskeyRegistrationLinkResponse {
  @Field(() => Details)
  details!: Details;

  @Field(() => Code, { nullable: true })
  code?: Code;
}

// The server's own DataSource options (src/db/data-source.ts), at its default pool size.
const dataSource = createDataSource(
  { kind: "mysql", url: databaseUrl!, poolSize: 10, retries: 0 },
  "mariadb",
);

@Resolver()
class PasskeyLinkResolver {
  @Query(() => String)
  health(): string {
    return "ok";
  }

  @Mutation(() => CreatePasskeyRegistrationLinkResponse)
  async createPasskeyRegistrationLink(
    @Arg("input") input: CreatePasskeyRegistrationLinkInput,
  ): Promise<CreatePasskeyRegistrationLinkResponse> {
    const user = await dataSource.getRepository(UserEntity).findOneBy({ id: input.userId });
    if (!user) throw new Error("user not found");
    const code = generateCode(12);
    const now = new Date();
    const codes = dataSource.getRepository(PasskeyCodeEntity);
    const saved = await codes.save(
      codes.create({
        id: randomUUID(),
        userId: user.id,
        organizationId: user.organizationId,
        codeHash: createHmac("sha256", codeKey).update(code).digest("hex"),
        medium: "RETURNED",
        state: "ACTIVE",
        failedChecks: 0,
        creator: user.id,
        grantedBy: user.id,
        sessionId: null,
        createdAt: now,
        expiresAt: new Date(now.getTime() + 3_600_000),
        endedAt: null,
      }),
    );
    return {
      details: {
        sequence: String(user.sequence),
        changeDate: now.toISOString(),
        resourceOwner: user.organizationId,
      },
      code: input.returnCode ? { id: saved.id, code } : undefined,
    };
  }
}

async function main(): Promise<void> {
  await dataSource.initialize();
  const apollo = new ApolloServer({
    schema: await buildSchema({ resolvers: [PasskeyLinkResolver], validate: false }),
  });
  await apollo.start();
  const http = Fastify();
  await http.register(fastifyApollo(apollo), { path: "/graphql" });
  http.server.keepAliveTimeout = 72_000;
  await http.listen({ port: Number(portArg), host: "127.0.0.1" });
  process.send?.("ready");
  process.once("SIGTERM", () => {
    void http
      .close()
      .then(() => (dataSource.isInitialized ? dataSource.destroy() : undefined))
      .finally(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
