import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { paths } from "../paths";
import type { Db } from "./client";

/** Applies pending drizzle-kit migrations; shares `__drizzle_migrations` with `npx drizzle-kit migrate`. */
export function migrateDatabase(db: Db): void {
  migrate(db, { migrationsFolder: paths.migrations });
}
