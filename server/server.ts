import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import type { ServerBuild } from "@remix-run/node";
import { createAppRuntime, type AppRuntime } from "./app-runtime";
import type { Logger } from "./logger";
import { startCheckpointer } from "./db/checkpointer";
import { enableSpaceReclaim, openDatabase, refreshPlannerStatistics, type DatabaseHandle } from "./db/client";
import { migrateDatabase } from "./db/migrate";
import { startSearchIndexer } from "./db/search-index";
import { SERVER_BUSY_TIMEOUT_MS } from "./db/write-gate";
import type { Env } from "./env";
import { createHttpApp } from "./http/app";
import { paths } from "./paths";
import { markInterruptedReplies } from "./services/replies";
import { deleteExpiredResetLinks } from "./services/password-resets";

export interface RunningServer {
  url: string;
  server: Server;
  /** The one database handle the server writes through. */
  database: DatabaseHandle;
  /** What the process holds (services, the registry of running replies), for tests and tools in it. */
  runtime: AppRuntime;
  /** While no admin exists: the one-time link that creates the first one (for the console only). */
  setupLink: string | null;
  /**
   * Stops accepting connections, lets running replies finish for up to `graceMs`, saves the
   * rest as `interrupted`, then closes the database.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Starts TeamGPT: one database handle, one auth instance, one HTTP server. Pending
 * migrations are applied first, so a fresh clone needs no separate step.
 */
export async function startServer(env: Env, options: { logger?: Logger } = {}): Promise<RunningServer> {
  const database = openDatabase(env.DATABASE_URL, { busyTimeoutMs: SERVER_BUSY_TIMEOUT_MS });
  migrateDatabase(database.db);
  const handle = await createAppRuntime(database.db, env, options.logger);
  const services = handle.services;
  reclaimSpaceFromNowOn(database, services.logger);
  const interrupted = markInterruptedReplies(database.db);
  if (interrupted > 0) services.logger.warn({ interrupted }, "replies cut off by the last shutdown were marked interrupted");
  const sweeper = sweepExpiredSessions(services);
  const statistics = refreshStatisticsHourly(database, services.logger);
  const checkpointer = startCheckpointer(database, services.logger);
  const searchIndexer = startSearchIndexer(database.db, services.logger);
  const build = (await import(pathToFileURL(paths.remixBuild).href)) as ServerBuild;
  const app = createHttpApp(services, build);

  const server = await new Promise<Server>((resolveListening, reject) => {
    const listening = app.listen(env.PORT, env.HOST, () => resolveListening(listening));
    listening.once("error", reject);
  });
  // A client gets a minute to send its whole request (Node allows five): a stalled body holds
  // memory until then.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  const { port } = server.address() as AddressInfo;
  const host = env.HOST === "0.0.0.0" || env.HOST === "::" ? "localhost" : env.HOST;

  const url = `http://${host}:${port}`;
  const setupToken = services.firstAdmin.open();

  return {
    url,
    server,
    database,
    runtime: services,
    setupLink: setupToken ? `${env.PUBLIC_ORIGIN ?? url}/setup?token=${setupToken}` : null,
    close: async (graceMs = 0) => {
      const closed = new Promise<void>((resolveClosed) => server.close(() => resolveClosed()));
      server.closeIdleConnections();
      await handle.close(graceMs);
      server.closeAllConnections();
      await closed;
      clearInterval(sweeper);
      clearInterval(statistics);
      searchIndexer.stop();
      await checkpointer?.stop();
      database.close();
    },
  };
}

const HOUR = 3_600_000;

/** Converts a database made before space was reclaimed (once; see enableSpaceReclaim). */
function reclaimSpaceFromNowOn(database: DatabaseHandle, logger: Logger): void {
  try {
    const { converted, ms } = enableSpaceReclaim(database.sqlite);
    if (converted) logger.warn({ ms }, "the database now gives deleted data's space back to the disk (a one-time rewrite)");
  } catch (error) {
    // A full disk has no room for the rewrite: the server runs as before, and tries at the next start.
    logger.error({ err: error }, "could not set the database up to give deleted data's space back; will try at the next start");
  }
}

/** Expired sessions are refused anyway; deleting them keeps the table small. */
function sweepExpiredSessions({ auth, db, logger }: Pick<AppRuntime, "auth" | "db" | "logger">): NodeJS.Timeout {
  const sweep = async () => {
    try {
      await auth.deleteExpiredSessions();
      deleteExpiredResetLinks(db);
    } catch (error) {
      logger.error({ err: error }, "could not delete expired sessions and reset links");
    }
  };
  void sweep();
  return setInterval(() => void sweep(), HOUR).unref();
}

/** A server runs for months: the tables it plans from keep growing. */
function refreshStatisticsHourly(database: DatabaseHandle, logger: Logger): NodeJS.Timeout {
  return setInterval(() => {
    try {
      refreshPlannerStatistics(database.sqlite);
    } catch (error) {
      // Another process held the write lock past the busy timeout; the next hour will do.
      logger.warn({ err: error }, "could not refresh the query planner's statistics");
    }
  }, HOUR).unref();
}
