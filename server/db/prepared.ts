import type { Db } from "./client";

const cache = new WeakMap<Db, Map<string, unknown>>();

/**
 * Builds a query once per database handle and reuses it. Drizzle spends about 70 µs building
 * a query's SQL in JavaScript, SQLite a few µs running a small one: the queries every request
 * or reply runs are prepared once (`sql.placeholder` for their values).
 */
export function preparedOnce<T>(db: Db, name: string, build: () => T): T {
  let queries = cache.get(db);
  if (!queries) cache.set(db, (queries = new Map<string, unknown>()));
  let query = queries.get(name) as T | undefined;
  if (query === undefined) queries.set(name, (query = build()));
  return query;
}
