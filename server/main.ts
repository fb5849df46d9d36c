import "dotenv/config";
import { ConfigError, loadEnv } from "./env";
import { startServer } from "./server";

async function main() {
  const env = loadEnv();
  const running = await startServer(env);
  console.log(`TeamGPT is listening on ${running.url} (${env.NODE_ENV}, database ${env.DATABASE_URL})`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal} received: no new connections; running replies get ${env.SHUTDOWN_GRACE_MS} ms to finish.`);
    running.close(env.SHUTDOWN_GRACE_MS).then(
      () => {
        console.log("Stopped cleanly.");
        process.exit(0);
      },
      (error: unknown) => {
        console.error("Shutdown failed:", error);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error("TeamGPT could not start:", error);
  process.exit(1);
});
