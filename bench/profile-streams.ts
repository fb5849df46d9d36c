/**
 * Profiles the server while it streams replies, and nothing else:
 *   npx tsx bench/profile-streams.ts [streams=300] [tokens=1] [concurrency=25]  → a .cpuprofile in ./profiles
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { hashPassword } from "../server/auth/password";
import { openDatabase } from "../server/db/client";
import { newId } from "../server/db/ids";
import { migrateDatabase } from "../server/db/migrate";
import { users } from "../server/db/schema";
import { startFakeUpstream } from "../server/llm/fake-upstream";
import { startServerProcess } from "./server-process";
import { processCpuTimes } from "./stats";
import { teamgptStream } from "./streams";

const STREAMS = Number(process.argv[2] ?? 300);
const TOKENS = Number(process.argv[3] ?? 1);
const CONCURRENCY = Number(process.argv[4] ?? 25);
const ROOT = resolve(import.meta.dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "teamgpt-profile-"));
const upstream = await startFakeUpstream({
  models: ["bench"],
  tokenDelayMs: 10,
  defaultText: Array.from({ length: TOKENS }, (_, i) => `w${i}`).join(" "),
});
const database = openDatabase(join(dir, "p.db"));
migrateDatabase(database.db);
database.db
  .insert(users)
  .values({ id: newId(), username: "p", usernameKey: "p", passwordHash: await hashPassword("profile password") })
  .run();
database.close();
const profileFlags = process.env.NO_PROFILE ? [] : ["--cpu-prof", `--cpu-prof-dir=${join(ROOT, "profiles")}`];
const server = await startServerProcess({ databaseFile: join(dir, "p.db"), upstreamUrl: upstream.url, nodeFlags: profileFlags });
const { url, pid } = server;
const login = await fetch(`${url}/api/trpc/auth.login`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ username: "p", password: "profile password" }),
});
const token = ((await login.json()) as { result: { data: { token: string } } }).result.data.token;
const create = async () =>
  (
    (await (
      await fetch(`${url}/api/trpc/conversations.create`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: "{}",
      })
    ).json()) as { result: { data: { id: string } } }
  ).result.data.id;
const warm = await Promise.all(Array.from({ length: 100 }, create));
for (let i = 0; i < warm.length; i += 25) await Promise.all(warm.slice(i, i + 25).map((id) => teamgptStream(url, token, id, "warm up")));
const ids = await Promise.all(Array.from({ length: STREAMS }, create));
const before = processCpuTimes(pid);
for (let i = 0; i < ids.length; i += CONCURRENCY) {
  await Promise.all(ids.slice(i, i + CONCURRENCY).map((id) => teamgptStream(url, token, id, "profile")));
}
const after = processCpuTimes(pid);
const perReply = (seconds: number) => ((seconds / STREAMS) * 1000).toFixed(2);
console.log(
  `server CPU per reply: ${perReply(after.user + after.system - before.user - before.system)} ms ` +
    `(user ${perReply(after.user - before.user)}, system ${perReply(after.system - before.system)}; ` +
    `${TOKENS} tokens, ${CONCURRENCY} at a time)`,
);
await server.stop();
await upstream.close();
rmSync(dir, { recursive: true, force: true });
