// Entry point: validate the configuration, start the server, stop gracefully on SIGTERM/SIGINT.
import "./core/runtime-flags";
import "reflect-metadata";
import { ConfigError, loadConfig } from "./config";
import { createApp } from "./server";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const app = await createApp(config);
  await app.listen();
  let stopping = false;
  // The one owner of shutdown (Apollo's handler is off, see server.ts). A second signal while
  // stopping is ignored: the mails in flight must still be recorded, or they go out twice.
  const shutdown = (signal: string) => {
    if (stopping) {
      app.http.log.warn({ signal }, "already shutting down");
      return;
    }
    stopping = true;
    app.http.log.info({ signal }, "shutting down: finishing in-flight requests");
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        app.http.log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main().catch((error: unknown) => {
  console.error("failed to start:", error instanceof Error ? error.message : error);
  process.exit(1);
});
