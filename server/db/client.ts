import Database from "better-sqlite3";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { databasePath } from "./path";
import * as schema from "./schema";

export type Db = BetterSQLite3Database<typeof schema>;

export interface DatabaseHandle {
  db: Db;
  sqlite: Database.Database;
  close(): void;
}

/** Opens the one SQLite handle a process uses, tuned for a web server with concurrent readers. */
export function openDatabase(url: string): DatabaseHandle {
  const sqlite = new Database(databasePath(url, { ensureDir: true }));
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("foreign_keys = ON");
  // Other processes (the CLI, a second server) may hold the write lock for a moment.
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("synchronous = NORMAL");
  const db = drizzle(sqlite, { schema });
  return {
    db,
    sqlite,
    close() {
      if (!sqlite.open) return;
      sqlite.pragma("optimize");
      sqlite.close();
    },
  };
}

/** A transaction handle; functions that may run inside one accept `Queryable`. */
export type Transaction = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type Queryable = Db | Transaction;
