import { spawn } from "node:child_process";
import { createRequire } from "node:module";

/**
 * Another process holding SQLite's write lock, as a backup tool or the sqlite3 shell in the
 * middle of a write would: `BEGIN IMMEDIATE`, then nothing until released.
 */
export async function holdWriteLock(file: string): Promise<{ release(): Promise<void> }> {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const script = `
    const db = new (require(${JSON.stringify(driver)}))(${JSON.stringify(file)});
    db.exec("BEGIN IMMEDIATE");
    process.stdout.write("locked\\n");
    process.stdin.on("data", () => { db.exec("ROLLBACK"); db.close(); process.exit(0); });
  `;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`the lock holder exited (${code})`)));
  });
  return {
    release: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.stdin.write("go\n");
      }),
  };
}
