import { statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { startCheckpointer } from "../../server/db/checkpointer";
import { enableSpaceReclaim, WAL_SIZE_LIMIT_BYTES, type DatabaseHandle } from "../../server/db/client";
import { createLogger } from "../../server/logger";
import { useFreshDatabases } from "../helpers/db";

const open = useFreshDatabases();

/** About 4 MB (by default) of new pages, all in the WAL until something checkpoints them. */
function writeMegabytes(database: DatabaseHandle, megabytes = 4) {
  database.sqlite.exec("create table if not exists filler(body text)");
  const insert = database.sqlite.prepare("insert into filler values (?)");
  database.sqlite.transaction(() => {
    for (let i = 0; i < megabytes * 250; i++) insert.run("x".repeat(4000));
  })();
}

const quiet = createLogger({ LOG_LEVEL: "silent", NODE_ENV: "test" });

describe("WAL checkpoints", () => {
  it("happen in the background, not inside the server's commits", async () => {
    const { database, file } = open();
    const checkpointer = startCheckpointer(database, quiet)!;
    expect(database.sqlite.pragma("wal_autocheckpoint", { simple: true })).toBe(0);
    const before = statSync(file).size;
    writeMegabytes(database);
    // The commit left every page in the WAL; the worker copies them into the database file.
    expect(statSync(file).size).toBe(before);
    await expect.poll(() => statSync(file).size, { timeout: 5_000, interval: 100 }).toBeGreaterThan(before + 3_000_000);

    await checkpointer.stop();
    expect(database.sqlite.pragma("wal_autocheckpoint", { simple: true })).toBe(1000);
  });
});

describe("disk space", () => {
  it("the space of deleted data goes back to the disk, a little at a time, in the background (a few MB stay for reuse)", async () => {
    const { database, file } = open();
    writeMegabytes(database, 6);
    database.sqlite.pragma("wal_checkpoint(TRUNCATE)");
    const full = statSync(file).size;
    database.sqlite.exec("delete from filler");
    const checkpointer = startCheckpointer(database, quiet)!;
    try {
      await expect.poll(() => statSync(file).size, { timeout: 10_000, interval: 200 }).toBeLessThan(full - 4_000_000);
    } finally {
      await checkpointer.stop();
    }
  });

  it("a database made before this gives its space back after a one-time rewrite, its rows intact", () => {
    const { database } = open();
    database.sqlite.pragma("auto_vacuum = NONE");
    database.sqlite.exec("VACUUM");
    writeMegabytes(database, 1);
    expect(enableSpaceReclaim(database.sqlite).converted).toBe(true);
    expect(database.sqlite.pragma("auto_vacuum", { simple: true })).toBe(2);
    expect(database.sqlite.prepare("select count(*) from filler").pluck().get()).toBe(250);
    expect(enableSpaceReclaim(database.sqlite).converted).toBe(false);
  });

  it("the write-ahead log is cut back after a burst (it kept the size of the largest one)", async () => {
    const { database, file } = open();
    const checkpointer = startCheckpointer(database, quiet)!;
    try {
      writeMegabytes(database, 72);
      expect(statSync(`${file}-wal`).size).toBeGreaterThan(WAL_SIZE_LIMIT_BYTES);
      // Once the background checkpoint has run, the next write starts the log over and cuts it back.
      await expect
        .poll(
          () => {
            writeMegabytes(database, 0.01);
            return statSync(`${file}-wal`).size;
          },
          { timeout: 10_000, interval: 250 },
        )
        .toBeLessThanOrEqual(WAL_SIZE_LIMIT_BYTES);
    } finally {
      await checkpointer.stop();
    }
  });
});
