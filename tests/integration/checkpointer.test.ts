import { statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { startCheckpointer } from "../../server/db/checkpointer";
import type { DatabaseHandle } from "../../server/db/client";
import { createLogger } from "../../server/logger";
import { useFreshDatabases } from "../helpers/db";

const open = useFreshDatabases();

/** About 4 MB of new pages, all in the WAL until something checkpoints them. */
function writeMegabytes(database: DatabaseHandle) {
  database.sqlite.exec("create table filler(body text)");
  const insert = database.sqlite.prepare("insert into filler values (?)");
  database.sqlite.transaction(() => {
    for (let i = 0; i < 1000; i++) insert.run("x".repeat(4000));
  })();
}

describe("WAL checkpoints", () => {
  it("happen in the background, not inside the server's commits", async () => {
    const { database, file } = open();
    const checkpointer = startCheckpointer(database, createLogger({ LOG_LEVEL: "silent", NODE_ENV: "test" }))!;
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
