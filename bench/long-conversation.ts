/**
 * How a 1,000-message conversation behaves in a real browser: time to HTML, time until the
 * page is interactive, and smoothness while a reply streams into it (long tasks, frame gaps).
 *
 *   npx tsx bench/long-conversation.ts [messages=1000] [reply tokens=300]
 *
 * The streamed reply is markdown like a coding answer's: paragraphs, lists and code blocks.
 */
import { launchBrowser } from "../tests/helpers/browser";
import { newId } from "../server/db/ids";
import { conversations, messages } from "../server/db/schema";
import { startFakeUpstream } from "../server/llm/fake-upstream";
import { loadEnv } from "../server/env";
import { startServer } from "../server/server";
import { openDatabase } from "../server/db/client";
import { createAppRuntime } from "../server/app-runtime";
import { hashPassword } from "../server/auth/password";
import { users } from "../server/db/schema";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { linkAsOneBranch } from "../tests/helpers/tree";

const COUNT = Number(process.argv[2] ?? 1000);
const REPLY_TOKENS = Number(process.argv[3] ?? 300);
const dir = mkdtempSync(join(tmpdir(), "teamgpt-bench-"));
const upstream = await startFakeUpstream({ models: ["bench"] });
const env = loadEnv({
  NODE_ENV: "production",
  DATABASE_URL: join(dir, "bench.db"),
  PORT: "0",
  HOST: "127.0.0.1",
  OPENAI_BASE_URL: upstream.url,
  OPENAI_MODELS: "bench",
  PUBLIC_ORIGIN: "http://127.0.0.1",
  LOG_LEVEL: "warn",
});
const server = await startServer(env);
const url = server.url.replace("localhost", "127.0.0.1");

const database = openDatabase(env.DATABASE_URL);
const { close } = await createAppRuntime(database.db, env);
const userId = newId();
database.db
  .insert(users)
  .values({ id: userId, username: "bench", usernameKey: "bench", passwordHash: await hashPassword("bench password") })
  .run();
const conversationId = newId();
database.db.insert(conversations).values({ id: conversationId, userId, title: "Long conversation", model: "bench" }).run();
const start = Date.now() - COUNT * 1000;
const rows = Array.from({ length: COUNT }, (_, i) => ({
  id: newId(),
  conversationId,
  role: i % 2 === 0 ? ("user" as const) : ("assistant" as const),
  content:
    i % 2 === 0
      ? `Question ${i}: how would you write a function that sums a list?`
      : `Answer ${i}. Here is **one way**:\n\n\`\`\`ts\nconst sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);\n\`\`\`\n\n- it is *pure*\n- it handles \`[]\`\n\n| input | output |\n|---|---|\n| [1,2] | 3 |`,
  model: i % 2 === 0 ? null : "bench",
  createdAt: new Date(start + i * 1000),
}));
for (let i = 0; i < rows.length; i += 200)
  database.db
    .insert(messages)
    .values(rows.slice(i, i + 200))
    .run();
linkAsOneBranch(database.db, conversationId);

const login = await fetch(`${url}/api/trpc/auth.login`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ username: "bench", password: "bench password" }),
});
const cookie = login.headers.getSetCookie()[0]!.split(";")[0]!;

const htmlTimes: number[] = [];
for (let i = 0; i < 7; i++) {
  const t0 = performance.now();
  const response = await fetch(`${url}/c/${conversationId}`, { headers: { cookie } });
  await response.text();
  htmlTimes.push(performance.now() - t0);
}
htmlTimes.sort((a, b) => a - b);

const browser = await launchBrowser();
const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
const [name, value] = cookie.split("=");
await context.addCookies([{ name: name!, value: value!, url }]);
const page = await context.newPage();
await page.addInitScript(`
  window.longTasks = [];
  new PerformanceObserver((list) => list.getEntries().forEach((entry) => window.longTasks.push(entry.duration))).observe({ type: "longtask", buffered: true });
`);
const t0 = performance.now();
await page.goto(`${url}/c/${conversationId}`, { waitUntil: "domcontentloaded" });
const domReady = performance.now() - t0;
await page.getByRole("button", { name: "Send" }).waitFor();
await page.getByLabel("Message").fill("x");
await page.waitForFunction("!document.querySelector('.composer-button').disabled");
const interactive = performance.now() - t0;
const loadLongTasks = await page.evaluate<number[]>("window.longTasks.splice(0)");

upstream.enqueue({ kind: "reply", tokens: codingAnswer(REPLY_TOKENS), tokenDelayMs: 10 });
// A string, not a function: tsx's helpers (__name) do not exist in the page.
await page.evaluate(`(() => {
  window.frames_ = [];
  const tick = (time) => { window.frames_.push(time); requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
})()`);
await page.getByLabel("Message").fill("stream into the long conversation");
await page.getByLabel("Message").press("Enter");
// The seeded conversation already ends in a reply: wait for the new one to start, then to end.
await page.locator("[data-status=streaming]").waitFor();
await page.locator("[data-status=streaming]").waitFor({ state: "detached", timeout: REPLY_TOKENS * 10 * 3 + 10_000 });
const streaming = await page.evaluate<{ frames: number; p95Gap: number; maxGap: number; longTasks: number[] }>(`(() => {
  const frames = window.frames_;
  const gaps = frames.slice(1).map((time, i) => time - frames[i]).sort((a, b) => a - b);
  return { frames: frames.length, p95Gap: gaps[Math.floor(gaps.length * 0.95)] ?? 0, maxGap: gaps.at(-1) ?? 0, longTasks: window.longTasks };
})()`);

console.log(`Conversation of ${COUNT} messages`);
console.log(`  time to HTML (server, median of 7): ${htmlTimes[3]!.toFixed(1)} ms`);
console.log(
  `  browser: DOM ready ${domReady.toFixed(0)} ms, interactive ${interactive.toFixed(0)} ms, ${loadLongTasks.length} long tasks while loading (longest ${Math.max(0, ...loadLongTasks).toFixed(0)} ms)`,
);
console.log(
  `  streaming a ${REPLY_TOKENS}-token reply: ${streaming.frames} frames, p95 frame gap ${streaming.p95Gap.toFixed(1)} ms, worst ${streaming.maxGap.toFixed(1)} ms, ${streaming.longTasks.length} long tasks (longest ${Math.max(0, ...streaming.longTasks).toFixed(0)} ms)`,
);

await browser.close();
await close();
database.close();
await server.close();
await upstream.close();
rmSync(dir, { recursive: true, force: true });

/** `count` tokens of an answer as a model writes one: prose, a list, a code block, again. */
function codingAnswer(count: number): string[] {
  const parts = [
    "Here is",
    " one way",
    " to do it",
    ", step by step:",
    "\n\n",
    "- read the",
    " **input**",
    "\n- check",
    " `edge cases`",
    "\n\n",
    "```ts",
    "\nexport function",
    " sum(xs: number[])",
    " {\n  return",
    " xs.reduce((a, b)",
    " => a + b, 0);",
    "\n}\n",
    "```",
    "\n\n",
  ];
  return Array.from({ length: count }, (_, i) => parts[i % parts.length]!);
}
