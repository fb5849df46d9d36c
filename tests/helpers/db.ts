import { copyFileSync, rmSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { afterEach } from "vitest";
import { createAppRuntime } from "../../server/app-runtime";
import { openDatabase, type DatabaseHandle } from "../../server/db/client";
import { loadEnv, type Env } from "../../server/env";
import { createLogger } from "../../server/logger";
import type { AppRuntime } from "../../server/trpc/context";
import { ARTIFACTS_DIR, BASE_DATABASE } from "./paths";

/** A fresh copy of the migrated base database, in its own file (or a name for an empty one). */
export function freshDatabaseFile(options: { empty?: boolean } = {}): string {
  const file = resolve(ARTIFACTS_DIR, `test-${randomUUID()}.db`);
  if (!options.empty) copyFileSync(BASE_DATABASE, file);
  return file;
}

export function removeDatabaseFile(file: string) {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
}

/** Opens fresh migrated database files for a test file; each is closed and removed after its test. */
export function useFreshDatabases(): () => { database: DatabaseHandle; file: string } {
  const opened: { database: DatabaseHandle; file: string }[] = [];
  afterEach(() => {
    for (const { database, file } of opened.splice(0)) {
      database.close();
      removeDatabaseFile(file);
    }
  });
  return () => {
    const file = freshDatabaseFile();
    const database = openDatabase(file);
    opened.push({ database, file });
    return { database, file };
  };
}

/**
 * Limits are off unless a test is about them: most tests log in far more often than a person.
 * Logs are errors only (a test that reads them asks for more), also for servers a test runs in
 * production mode: a test run prints what went wrong, not every request.
 */
export function testEnv(overrides: Record<string, string> = {}): Env {
  return loadEnv({
    NODE_ENV: "test",
    DATABASE_URL: freshDatabaseFile(),
    HOST: "127.0.0.1",
    PORT: "0",
    RATE_LIMITS: "off",
    // A title is one more request to the fake model server, after each first reply: only
    // tests about titles, which know to expect it, ask for them.
    MODEL_TITLES: "off",
    LOG_LEVEL: "error",
    ...overrides,
  });
}

export interface TestServices extends AppRuntime {
  close(): Promise<void>;
}

/**
 * The services one process holds, over a real migrated SQLite file. With `logs`, what they log
 * (at LOG_LEVEL, default info) goes there as parsed lines, for tests about logs.
 */
export async function createTestServices(overrides: Record<string, string> = {}, logs?: Record<string, unknown>[]): Promise<TestServices> {
  const env = testEnv(logs ? { LOG_LEVEL: "info", ...overrides } : overrides);
  const database = openDatabase(env.DATABASE_URL);
  const logger = logs
    ? createLogger(env, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) })
    : undefined;
  const handle = await createAppRuntime(database.db, env, logger);
  return {
    ...handle.services,
    async close() {
      await handle.close();
      database.close();
      removeDatabaseFile(env.DATABASE_URL);
    },
  };
}
