import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "../../server/auth/password";

describe("password hashing", () => {
  it("leaves libuv's thread pool to file reads while hundreds of checks wait", async () => {
    const stored = await hashPassword("the right password");
    let done = 0;
    const checks = Array.from({ length: 60 }, (_, i) => verifyPassword(stored, `guess ${i}`).finally(() => done++));
    // Every page starts with a static-file lookup on the same pool: it must not queue behind the hashes.
    await readFile(new URL(import.meta.url));
    const doneBeforeRead = done;
    expect(await Promise.all(checks)).toEqual(Array.from({ length: 60 }, () => false));
    expect(doneBeforeRead).toBeLessThan(10);
  });

  it("refuses checks past what it can do within seconds, with when to try again", async () => {
    const stored = await hashPassword("the right password");
    const results = await Promise.allSettled(Array.from({ length: 300 }, () => verifyPassword(stored, "a guess")));
    const refused = results.filter((result) => result.status === "rejected");
    expect(refused.length).toBeGreaterThan(0);
    expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({ code: "TOO_MANY_REQUESTS", retryAfterSeconds: 5 });
    expect(results.filter((result) => result.status === "fulfilled").length).toBeGreaterThanOrEqual(100);
  });
});
