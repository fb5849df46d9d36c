import "dotenv/config";
import { openDatabase, type DatabaseHandle } from "../db/client";
import { migrateDatabase } from "../db/migrate";
import { ConfigError, loadEnv, type Env } from "../env";
import { ZodError } from "zod";
import { ServiceError } from "../services/errors";

/** Every command works on a migrated database, so none needs a separate step first. */
export function openMigratedDatabase(): { env: Env; database: DatabaseHandle } {
  const env = loadEnv();
  const database = openDatabase(env.DATABASE_URL);
  migrateDatabase(database.db);
  return { env, database };
}

/** Runs a command: readable messages for what a person can fix, exit status 1 on failure. */
export async function runCommand(name: string, command: () => Promise<number | void> | number | void): Promise<void> {
  try {
    process.exitCode = (await command()) ?? 0;
  } catch (error) {
    const readable = readableFailure(error);
    if (readable) console.error(readable);
    else console.error(`${name} failed:`, error);
    process.exitCode = 1;
  }
}

/** What a person can act on, in their words: a bad setting, argument or value; else null (a bug). */
function readableFailure(error: unknown): string | null {
  if (error instanceof ConfigError || error instanceof CommandError || error instanceof ServiceError) return error.message;
  if (error instanceof ZodError) return error.issues.map((issue) => `${issue.path.join(".") || "input"}: ${issue.message}`).join("\n");
  return null;
}

export class CommandError extends Error {
  override name = "CommandError";
}
