import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { openDatabase, type DatabaseHandle } from "../../server/db/client";
import { paths } from "../../server/paths";
import { freshDatabaseFile, removeDatabaseFile } from "./db";

interface Journal {
  entries: { tag: string }[];
}

/**
 * A database made by an earlier release: every migration up to and including `tag`, and none
 * after. The test fills it with rows, then upgrades it as `npm start` would.
 */
export function databaseMigratedUpTo(tag: string): { database: DatabaseHandle; file: string; upgrade(): void; dispose(): void } {
  const folder = mkdtempSync(join(tmpdir(), "teamgpt-migrations-"));
  cpSync(paths.migrations, folder, { recursive: true });
  const journalFile = join(folder, "meta/_journal.json");
  const journal = JSON.parse(readFileSync(journalFile, "utf8")) as Journal;
  const last = journal.entries.findIndex((entry) => entry.tag === tag);
  if (last === -1) throw new Error(`no migration tagged ${tag}`);
  writeFileSync(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, last + 1) }));

  // An empty file, not the tests' base database, which has every migration already.
  const file = freshDatabaseFile({ empty: true });
  const database = openDatabase(file);
  migrate(database.db, { migrationsFolder: folder });
  rmSync(folder, { recursive: true, force: true });
  return {
    database,
    file,
    upgrade: () => migrate(database.db, { migrationsFolder: paths.migrations }),
    dispose: () => {
      database.close();
      removeDatabaseFile(file);
    },
  };
}
