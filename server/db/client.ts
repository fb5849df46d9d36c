import Database from "better-sqlite3";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { databasePath } from "./path";
import * as schema from "./schema";
import { guardTransactions, writeGateOf } from "./write-gate";

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

export interface DatabaseHandle {
  db: Db;
  sqlite: Database.Database;
  close(): void;
}

export interface OpenOptions {
  /**
   * How long a write waits for another process's write lock. Command-line tools wait 5 s for
   * the server; the server waits SERVER_BUSY_TIMEOUT_MS, since its writes wait on the event loop.
   */
  busyTimeoutMs?: number;
}

/** Opens the one SQLite handle a process uses, tuned for a web server with concurrent readers. */
export function openDatabase(url: string, options: OpenOptions = {}): DatabaseHandle {
  const sqlite = new Database(databasePath(url, { ensureDir: true }));
  // A new database gives deleted data's space back (see reclaimSpace); only possible before
  // its first table, and before WAL mode writes its first page.
  if (sqlite.pragma("page_count", { simple: true }) === 0) sqlite.pragma("auto_vacuum = INCREMENTAL");
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  sqlite.pragma("foreign_keys = ON");
  // Other processes (the CLI, a second server, a backup) may hold the write lock for a moment.
  sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
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
 * The write-ahead log is cut back to this size whenever a checkpoint resets it: without a
 * limit it keeps the size of the largest burst it ever held (1.2 GB after a runaway reply).
 */
export const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * A database made before TeamGPT reclaimed space keeps every deleted page for good: switching it
 * to incremental auto-vacuum takes one VACUUM, which rewrites the file (about 0.3 s per 20 MB
 * here, and free disk space of the database's size). Done once, at the server's start.
 */
export function enableSpaceReclaim(sqlite: Database.Database): { converted: boolean; ms: number } {
  if (sqlite.pragma("auto_vacuum", { simple: true }) === AUTO_VACUUM_INCREMENTAL) return { converted: false, ms: 0 };
  const started = performance.now();
  sqlite.pragma("auto_vacuum = INCREMENTAL");
  sqlite.exec("VACUUM");
  return { converted: true, ms: Math.round(performance.now() - started) };
}

const AUTO_VACUUM_INCREMENTAL = 2;

/**
 * SQLite plans queries from statistics taken when the tables were last analyzed (at every
 * close). Taken on a new install, with one user and one session, they make it read whole
 * tables instead of their indexes (the session lookup of every request among them) until
 * they are taken again. At open every table SQLite finds stale is re-analyzed, within a bounded
 * time; then, now and then, the ones in use (SQLite's advice for connections that stay open).
 */
export function refreshPlannerStatistics(sqlite: Database.Database, which: "all tables" | "tables in use" = "tables in use"): void {
  if (which === "tables in use") {
    sqlite.pragma("optimize");
    return;
  }
  // 0x10003: what `optimize = 0x10002` would analyze, without doing it. The search index's own
  // tables are left out: no query is planned over them, and reading them at start filled the
  // page cache (6–10 MB of the idle server's memory with 10,000 conversations).
  const stale = (sqlite.pragma("optimize = 0x10003") as { optimize: string }[])
    .map((row) => row.optimize)
    .filter((statement) => !/"message_search_(data|idx|content|docsize|config)"/.test(statement));
  if (stale.length === 0) return;
  sqlite.pragma(`analysis_limit = ${ANALYSIS_ROWS}`);
  try {
    for (const statement of stale) sqlite.exec(statement);
  } finally {
    sqlite.pragma("analysis_limit = 0");
  }
}

/** Rows ANALYZE samples an index by, as `optimize` limits itself: enough for good plans, quick on any size. */
const ANALYSIS_ROWS = 1000;

const STATEMENT_CACHE_SIZE = 500;

/**
 * Every statement is prepared here: writes are routed through the write gate (write-gate.ts).
 *
 * Drizzle asks better-sqlite3 to prepare every query anew, and compiling SQL is most of a
 * small query's cost. Drizzle's SQL text is parameterised, so the same text can reuse one
 * compiled statement; statements run synchronously, so one is never in use twice at once.
 */
function cachePreparedStatements(sqlite: Database.Database): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, Database.Statement>();
  const gate = writeGateOf(sqlite);
  guardTransactions(sqlite, gate);
  sqlite.prepare = ((source: string) => {
    const cached = cache.get(source);
    // Drizzle switches raw (array) mode on per call; start every use in the default mode.
    if (cached) return cached.reader ? cached.raw(false) : cached;
    const statement = prepare(source);
    gate.guard(statement);
    if (cache.size >= STATEMENT_CACHE_SIZE) cache.clear(); // bulk inserts make one-off texts
    cache.set(source, statement);
    return statement;
  }) as typeof sqlite.prepare;
}

/** A transaction handle; functions that may run inside one accept `Queryable`. */
export type Transaction = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type Queryable = Db | Transaction;
