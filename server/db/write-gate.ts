import type Database from "better-sqlite3";

/**
 * What the server does when SQLite cannot write: another process holds the write lock (a
 * backup, the sqlite3 shell, a bulk `keys:load`), the disk is full, or the file went read-only.
 *
 * better-sqlite3 is synchronous: a write that waits for the lock waits on the event loop, so
 * every stream and request waits with it (5 s a write, with the busy timeout we had). The
 * server's connection waits at most SERVER_BUSY_TIMEOUT_MS; once a write found the database
 * locked, later writes first ask SQLite, without waiting, whether the lock is free, and fail at
 * once while it is not. Failures become DatabaseUnavailableError, which the API answers with
 * 503 and a message a person can act on, never a crash.
 */

/** How long one write of the server may wait for another process's lock (a short CLI write fits). */
export const SERVER_BUSY_TIMEOUT_MS = 250;

export type UnavailableReason = "locked" | "full" | "failed";

const MESSAGES: Record<UnavailableReason, string> = {
  locked: "The database is busy: another program is writing to it. Try again in a moment.",
  full: "The server's disk is full, so nothing new can be saved. Tell an admin.",
  failed: "The server cannot write to its database right now. Tell an admin.",
};

export class DatabaseUnavailableError extends Error {
  override name = "DatabaseUnavailableError";
  constructor(
    readonly reason: UnavailableReason,
    override readonly cause?: unknown,
  ) {
    super(MESSAGES[reason]);
  }
}

/** Why a SQLite error means the database cannot write now, or null for any other error (a bug, a constraint). */
export function unavailableReason(error: unknown): UnavailableReason | null {
  if (error instanceof DatabaseUnavailableError) return error.reason;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !code.startsWith("SQLITE_")) return null;
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return "locked";
  if (code === "SQLITE_FULL") return "full";
  if (code.startsWith("SQLITE_IOERR") || code.startsWith("SQLITE_READONLY") || code === "SQLITE_CANTOPEN") return "failed";
  return null;
}

export interface WriteHealth {
  /** Whether the last write succeeded; if not, why. */
  lastFailure: { reason: UnavailableReason; at: Date } | null;
}

/** After the lock was found taken, how often a write inside a transaction may try for real. */
const RETRY_IN_TRANSACTION_MS = 1_000;
/**
 * How long asking whether the lock is free may wait: our own checkpoint worker takes it for a
 * few ms a second while it gives space back, which is no reason to refuse a write.
 */
const PROBE_WAIT_MS = 25;

export class WriteGate implements WriteHealth {
  lastFailure: WriteHealth["lastFailure"] = null;
  private locked = false;
  private lastAttempt = 0;

  constructor(private readonly sqlite: Database.Database) {}

  /** Whether a write may start now; when the lock was taken lately, asks SQLite without waiting. */
  canWrite(): boolean {
    if (!this.locked) return true;
    if (this.sqlite.inTransaction) {
      // A probe cannot run inside a transaction: let one write a second try for real.
      if (performance.now() - this.lastAttempt < RETRY_IN_TRANSACTION_MS) return false;
      this.lastAttempt = performance.now();
      return true;
    }
    if (this.lockIsFree(PROBE_WAIT_MS)) {
      this.locked = false;
      return true;
    }
    return false;
  }

  /** Throws at once when the database is known to be locked by someone else. */
  beforeWrite(): void {
    if (!this.canWrite()) throw new DatabaseUnavailableError("locked");
  }

  succeeded(): void {
    this.locked = false;
    this.lastFailure = null;
  }

  /** Records a failed write; returns the error to throw in its place. */
  failed(error: unknown): unknown {
    const reason = unavailableReason(error);
    if (!reason) return error;
    if (reason === "locked") {
      this.locked = true;
      this.lastAttempt = performance.now();
    }
    this.lastFailure = { reason, at: new Date() };
    return error instanceof DatabaseUnavailableError ? error : new DatabaseUnavailableError(reason, error);
  }

  /** Takes and drops the write lock, waiting at most `waitMs`: false when another connection holds it longer. */
  lockIsFree(waitMs: number): boolean {
    const timeout = this.sqlite.pragma("busy_timeout", { simple: true }) as number;
    this.sqlite.pragma(`busy_timeout = ${waitMs}`);
    try {
      this.sqlite.exec("BEGIN IMMEDIATE");
      this.sqlite.exec("ROLLBACK");
      return true;
    } catch (error) {
      if (unavailableReason(error) === "locked") return false;
      throw error;
    } finally {
      this.sqlite.pragma(`busy_timeout = ${timeout}`);
    }
  }

  /**
   * Routes a write statement's runs through the gate: refused at once while the lock is known
   * taken, its failures recorded and turned into DatabaseUnavailableError.
   */
  guard(statement: Database.Statement): void {
    if (statement.readonly) return;
    // Not `iterate`: its rows, and its failures, come after the call has returned.
    for (const method of ["run", "get", "all"] as const) {
      // Called with the statement as `this` (apply, below).
      // eslint-disable-next-line @typescript-eslint/unbound-method
      const original = statement[method];
      const guarded = (...args: unknown[]) => {
        this.beforeWrite();
        try {
          const result = original.apply(statement, args);
          this.succeeded();
          return result;
        } catch (error) {
          throw this.failed(error);
        }
      };
      Object.defineProperty(statement, method, { value: guarded, configurable: true, writable: true });
    }
  }
}

/**
 * Routes transactions through the gate too: in WAL mode a full disk shows at COMMIT, which
 * runs inside better-sqlite3's transaction function, not in any statement.
 */
export function guardTransactions(sqlite: Database.Database, gate: WriteGate): void {
  const transaction = sqlite.transaction.bind(sqlite);
  const guard =
    <A extends unknown[], R>(run: (...args: A) => R) =>
    (...args: A): R => {
      try {
        const result = run(...args);
        gate.succeeded();
        return result;
      } catch (error) {
        throw gate.failed(error);
      }
    };
  /* eslint-disable @typescript-eslint/unbound-method -- better-sqlite3's transaction variants are closures over the database, not methods using `this` */
  sqlite.transaction = (<F extends (...args: never[]) => unknown>(fn: F) => {
    const tx = transaction(fn);
    return Object.assign(guard(tx), {
      default: guard(tx.default),
      deferred: guard(tx.deferred),
      immediate: guard(tx.immediate),
      exclusive: guard(tx.exclusive),
    });
  }) as typeof sqlite.transaction;
  /* eslint-enable @typescript-eslint/unbound-method */
}

const gates = new WeakMap<Database.Database, WriteGate>();

export function writeGateOf(sqlite: Database.Database): WriteGate {
  let gate = gates.get(sqlite);
  if (!gate) gates.set(sqlite, (gate = new WriteGate(sqlite)));
  return gate;
}
