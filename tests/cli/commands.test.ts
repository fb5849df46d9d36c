import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createAuth } from "../../server/auth/lucia";
import { openDatabase } from "../../server/db/client";
import { registrationKeys, users } from "../../server/db/schema";
import { login } from "../../server/services/accounts";
import { OpenStreams } from "../../server/services/open-streams";
import { NO_LIMITS } from "../../server/services/rate-limits";
import { loadEnv } from "../../server/env";
import { freshDatabaseFile, removeDatabaseFile } from "../helpers/db";
import { ARTIFACTS_DIR, ROOT } from "../helpers/paths";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A database file for one test; `fresh: false` leaves it unmigrated, as after a clone. */
function databaseFile({ fresh = true } = {}) {
  const file = fresh ? freshDatabaseFile() : resolve(ARTIFACTS_DIR, `cli-${randomUUID()}`, "nested", "app.db");
  cleanups.push(() => removeDatabaseFile(file));
  return file;
}

function run(command: string, args: string[], env: Record<string, string>) {
  const result = spawnSync(command, args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NODE_ENV: "test", npm_config_loglevel: "error", ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const npmRun = (script: string, args: string[], env: Record<string, string>) => run("npm", ["run", script, "--", ...args], env);

function tempFile(contents: string) {
  const file = resolve(ARTIFACTS_DIR, `keys-${randomUUID()}.txt`);
  writeFileSync(file, contents);
  return file;
}

function rows(file: string) {
  const database = openDatabase(file);
  try {
    return { users: database.db.select().from(users).all(), keys: database.db.select().from(registrationKeys).all() };
  } finally {
    database.close();
  }
}

describe("npm run setup", () => {
  it("migrates a new database, creates the first admin with a password shown once, and is safe to run twice", async () => {
    const file = databaseFile({ fresh: false });
    const first = npmRun("setup", [], { DATABASE_URL: `file:${file}` });
    expect(first.status).toBe(0);
    const password = first.stdout.match(/Its password is: (\S+)/)![1]!;
    expect(first.stdout).toContain('Created the admin account "admin"');

    const second = npmRun("setup", [], { DATABASE_URL: `file:${file}` });
    expect(second.status).toBe(0);
    expect(second.stdout).toContain("An admin already exists (admin); nothing changed.");
    expect(second.stdout).not.toContain("password");
    expect(rows(file).users).toHaveLength(1);

    const database = openDatabase(file);
    cleanups.push(() => database.close());
    const env = loadEnv({ DATABASE_URL: file });
    const streams = new OpenStreams({ perUser: 1, total: 1, enabled: false });
    const deps = { db: database.db, auth: createAuth(database.db, env), env, limits: NO_LIMITS, streams };
    const signedIn = await login(deps, { ip: "127.0.0.1" }, { username: "admin", password });
    expect(signedIn.user.role).toBe("admin");
  });

  it("uses ADMIN_USERNAME and ADMIN_PASSWORD when given, and prints no password", () => {
    const file = databaseFile();
    const result = npmRun("setup", [], { DATABASE_URL: file, ADMIN_USERNAME: "root.admin", ADMIN_PASSWORD: "a long admin password" });
    expect(result.status).toBe(0);
    expect(result.stdout).not.toContain("a long admin password");
    expect(rows(file).users.map((user) => [user.username, user.role])).toEqual([["root.admin", "admin"]]);
  });

  it("stops with a message naming a bad variable", () => {
    const result = npmRun("setup", [], { DATABASE_URL: databaseFile(), SESSION_DAYS: "forever" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("SESSION_DAYS: expected a number of days");
  });
});

describe("npm run users:reset-password", () => {
  it("prints a one-time link for an account, and exits 1 for an unknown one", () => {
    const file = databaseFile();
    expect(npmRun("setup", [], { DATABASE_URL: file, ADMIN_USERNAME: "boss", ADMIN_PASSWORD: "a long admin password" }).status).toBe(0);
    const result = npmRun("users:reset-password", ["BOSS"], { DATABASE_URL: file, PUBLIC_ORIGIN: "https://chat.example.com" });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/A new password for boss: open https:\/\/chat\.example\.com\/reset\?token=[0-9a-z]{32}\n/);
    const unknown = npmRun("users:reset-password", ["nobody"], { DATABASE_URL: file });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('There is no account named "nobody".');
  });

  it("says in one line why a disabled account gets no link, without a stack trace", () => {
    const file = databaseFile();
    expect(npmRun("setup", [], { DATABASE_URL: file, ADMIN_USERNAME: "boss", ADMIN_PASSWORD: "a long admin password" }).status).toBe(0);
    const database = openDatabase(file);
    database.db.update(users).set({ disabledAt: new Date() }).run();
    database.close();
    const refused = npmRun("users:reset-password", ["boss"], { DATABASE_URL: file });
    expect(refused.status).toBe(1);
    expect(refused.stderr.trim()).toBe("This account is disabled: enable it first, then make a reset link.");
  });
});

describe("bad values say which setting to change", () => {
  it("npm run setup with an unusable ADMIN_USERNAME or ADMIN_PASSWORD: a line naming the variable, no stack trace", () => {
    const username = npmRun("setup", [], { DATABASE_URL: databaseFile(), ADMIN_USERNAME: "no spaces allowed" });
    expect(username.status).toBe(1);
    expect(username.stderr.trim()).toBe("ADMIN_USERNAME: Use only letters, digits, and _ . -");
    const password = npmRun("setup", [], { DATABASE_URL: databaseFile(), ADMIN_USERNAME: "boss", ADMIN_PASSWORD: "short" });
    expect(password.status).toBe(1);
    expect(password.stderr.trim()).toMatch(/^ADMIN_PASSWORD: [^\n]+$/);
  });
});

describe("keys from the command line", () => {
  it("keys:generate prints a keys file that keys:load accepts, even with npm's banner in it", () => {
    const source = databaseFile();
    const generated = npmRun("keys:generate", ["--count", "3"], { DATABASE_URL: source });
    expect(generated.status).toBe(0);
    const keys = generated.stdout.split("\n").filter((line) => line.startsWith("tgk_"));
    expect(keys).toHaveLength(3);
    expect(
      rows(source)
        .keys.map((row) => row.key)
        .sort(),
    ).toEqual([...keys].sort());

    const target = databaseFile();
    const loaded = npmRun("keys:load", [tempFile(generated.stdout)], { DATABASE_URL: target });
    expect(loaded.stderr).toBe("");
    expect(loaded.status).toBe(0);
    expect(loaded.stdout).toContain("3 added, 0 duplicates skipped, 0 invalid.");

    const again = npmRun("keys:load", [tempFile(generated.stdout)], { DATABASE_URL: target });
    expect(again.stdout).toContain("0 added, 3 duplicates skipped, 0 invalid.");
  });

  it("keys:load refuses a malformed file whole, naming the lines, with a non-zero exit", () => {
    const file = databaseFile();
    const result = npmRun("keys:load", [tempFile("valid-key-0001\n# comment\nnot_valid!\nvalid-key-0002\nx\n")], { DATABASE_URL: file });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("2 malformed lines; nothing was added.");
    expect(result.stderr).toContain("line 3: only letters, digits, - and _ are allowed");
    expect(result.stderr).toContain("line 5: too short");
    expect(rows(file).keys).toEqual([]);
  });

  it("keys:load explains a missing file and a missing argument", () => {
    const missing = npmRun("keys:load", ["/no/such/keys.txt"], { DATABASE_URL: databaseFile() });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("Cannot read /no/such/keys.txt: no such file.");
    const usage = npmRun("keys:load", [], { DATABASE_URL: databaseFile() });
    expect(usage.status).toBe(1);
    expect(usage.stderr).toContain("Usage: npm run keys:load -- FILE");
  });

  it("keys:generate refuses a count outside 1 to 1000", () => {
    const result = npmRun("keys:generate", ["--count", "0"], { DATABASE_URL: databaseFile() });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("--count must be a whole number from 1 to 1000 (got 0).");
  });
});

describe("npx drizzle-kit migrate", () => {
  it("applies the committed migrations to DATABASE_URL from scratch", () => {
    const file = databaseFile({ fresh: false });
    const result = run("npx", ["drizzle-kit", "migrate"], { DATABASE_URL: `file:${file}` });
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(rows(file)).toEqual({ users: [], keys: [] });
  });
});
