import "dotenv/config";
import { ConfigError, loadEnv } from "./env";
import { createLogger, type Logger } from "./logger";
import { startServer } from "./server";

/**
 * Everything goes through the JSON logger, one line an event: a stack trace printed over
 * several lines would break every log collector reading it. The first admin's setup link is a
 * warning, so LOG_LEVEL=warn still shows it.
 */
async function main() {
  const env = loadEnv();
  const logger = createLogger(env);
  catchStrayErrors(logger);
  const running = await startServer(env, { logger });
  logger.info({ url: running.url, database: env.DATABASE_URL }, `TeamGPT is listening on ${running.url} (${env.NODE_ENV})`);
  if (running.setupLink) {
    logger.warn(
      { setupLink: running.setupLink },
      `No admin yet. Create the first one at ${running.setupLink} (it works once, until an admin exists; a restart makes a new one; \`npm run setup\` works too)`,
    );
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received: no new connections; running replies get ${env.SHUTDOWN_GRACE_MS} ms to finish.`);
    running.close(env.SHUTDOWN_GRACE_MS).then(
      () => {
        logger.info("Stopped cleanly.");
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.fatal({ err: error }, "Shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

/**
 * A promise nobody awaited must not take every user's replies down with it: it is logged and
 * the server goes on. An exception thrown outside any handler leaves state nobody can vouch
 * for: it is logged, then the process exits, as Node would.
 */
function catchStrayErrors(logger: Logger) {
  process.on("unhandledRejection", (reason) => logger.error({ err: reason }, "a promise failed and nothing handled it"));
  process.on("uncaughtException", (error) => {
    logger.fatal({ err: error }, "uncaught exception; exiting");
    process.exit(1);
  });
}

/** Until the configuration is read, and for what stops the start. */
const bootLogger = createLogger({ NODE_ENV: "production" });
main().catch((error: unknown) => {
  if (error instanceof ConfigError) bootLogger.fatal(error.message);
  else bootLogger.fatal({ err: error }, "TeamGPT could not start");
  process.exit(1);
});
