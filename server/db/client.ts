import Database from "better-sqlite3";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { databasePath } from "./path";
import * as schema from "./schema";

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

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
  try {
    refreshPlannerStatistics(sqlite, "all tables");
  } catch {
    // Only an optimisation: a database another process is writing to right now still opens.
  }
  cachePreparedStatements(sqlite);
  const db = drizzle(sqlite, { schema });
  return {
    db,
    sqlite,
    close() {
      if (!sqlite.open) return;
      refreshPlannerStatistics(sqlite);
      sqlite.close();
    },
  };
}

/**
 * SQLite plans queries from statistics taken when the tables were last analyzed (at every
 * close). Taken on a new install, with one user and one session, they make it read whole
 * tables instead of their indexes (the session lookup of every request among them) until
 * they are taken again. `optimize` re-analyzes, within a bounded time, the tables that grew
 * or shrank a lot since: at open for every table, then now and then for the ones in use
 * (SQLite's advice for connections that stay open).
 */
export function refreshPlannerStatistics(sqlite: Database.Database, which: "all tables" | "tables in use" = "tables in use"): void {
  sqlite.pragma(which === "all tables" ? "optimize = 0x10002" : "optimize");
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * Drizzle asks better-sqlite3 to prepare every query anew, and compiling SQL is most of a
 * small query's cost. Drizzle's SQL text is parameterised, so the same text can reuse one
 * compiled statement; statements run synchronously, so one is never in use twice at once.
 */
function cachePreparedStatements(sqlite: Database.Database): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, Database.Statement>();
  sqlite.prepare = ((source: string) => {
    const cached = cache.get(source);
    // Drizzle switches raw (array) mode on per call; start every use in the default mode.
    if (cached) return cached.reader ? cached.raw(false) : cached;
    const statement = prepare(source);
    if (cache.size >= STATEMENT_CACHE_SIZE) cache.clear(); // bulk inserts make one-off texts
    cache.set(source, statement);
    return statement;
  }) as typeof sqlite.prepare;
}

/** A transaction handle; functions that may run inside one accept `Queryable`. */
export type Transaction = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type Queryable = Db | Transaction;
