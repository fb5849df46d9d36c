import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { Logger } from "../logger";
import { WAL_SIZE_LIMIT_BYTES, type DatabaseHandle } from "./client";

/**
 * Moves WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the
 * commit that crosses 1,000 pages: copying them into the database file and syncing it stalled
 * that commit, and every stream and request with it, for 6–18 ms about once every hundred
 * replies (measured). A worker thread with its own connection checkpoints every second
 * instead (PASSIVE: it never waits for, or blocks, the server's reads and writes). The same
 * worker gives the space of deleted data back to the disk, a little at a time.
 */
export interface Checkpointer {
  stop(): Promise<void>;
}

const INTERVAL_MS = 1_000;
/**
 * Free pages given back to the disk per second, at most: 512 pages (2 MB) hold the write lock
 * ~10 ms (2,000 took 41 ms when freed pages were spread through the file).
 */
const RECLAIM_PAGES = 512;

// Plain CommonJS run as the worker's source, so it works the same from server/ under tsx,
// from the bundle and under vitest (a worker file would need each of their loaders).
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma("busy_timeout = 5000");
db.pragma("journal_size_limit = " + workerData.walSizeLimit);
const checkpoint = () => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
    // Space freed by deleted conversations goes back to the disk, a few MB at a time, so the
    // server's own writes never wait long for the lock this takes.
    if (db.pragma("freelist_count", { simple: true }) > workerData.reclaimPages) db.pragma("incremental_vacuum(" + workerData.reclaimPages + ")");
  } catch (error) { parentPort.postMessage(String(error)); }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on("message", () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

export function startCheckpointer(database: DatabaseHandle, logger: Logger): Checkpointer | null {
  if (database.sqlite.memory) return null;
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      driver,
      file: database.sqlite.name,
      intervalMs: INTERVAL_MS,
      walSizeLimit: WAL_SIZE_LIMIT_BYTES,
      reclaimPages: RECLAIM_PAGES,
    },
  });
  worker.unref();
  const exited = new Promise((resolve) => worker.once("exit", resolve));
  worker.on("message", (message: string) => logger.warn({ error: message }, "WAL checkpoint failed"));
  const fallBack = () => {
    // Without the worker the WAL would grow without end: SQLite checkpoints on commit again.
    if (database.sqlite.open) database.sqlite.pragma("wal_autocheckpoint = 1000");
  };
  worker.once("error", (error) => {
    logger.error({ err: error }, "the checkpoint worker failed; checkpoints run on commit again");
    fallBack();
  });
  database.sqlite.pragma("wal_autocheckpoint = 0");
  return {
    async stop() {
      // Unreferenced, the worker would not keep the process alive while shutdown waits for it.
      worker.ref();
      worker.postMessage("stop");
      await exited;
      fallBack();
    },
  };
}
