import { and, eq, lt, or, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { ServiceError } from "./errors";

/**
 * Pages of lists ordered newest first by a time, ties broken by id: a cursor names the last
 * item shown, so pages stay stable while items are added.
 */
export interface PageCursor {
  time: Date;
  id: string;
}

export function encodeCursor(time: Date, id: string): string {
  return Buffer.from(`${time.getTime()}:${id}`).toString("base64url");
}

export function decodeCursor(cursor: string): PageCursor {
  const [time, id] = Buffer.from(cursor, "base64url").toString("utf8").split(":");
  const decoded = new Date(Number(time));
  if (!id || Number.isNaN(decoded.getTime()))
    throw new ServiceError("BAD_REQUEST", "That page cursor is not valid; start from the first page.");
  return { time: decoded, id };
}

/** Rows after the cursor in (time, id) descending order. */
export function olderThanCursor(timeColumn: SQLiteColumn, idColumn: SQLiteColumn, cursor: PageCursor): SQL | undefined {
  return or(lt(timeColumn, cursor.time), and(eq(timeColumn, cursor.time), lt(idColumn, cursor.id)));
}
