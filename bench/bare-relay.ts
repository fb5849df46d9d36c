/**
 * The floor for server CPU per reply: a bare Node relay (node:http in and out, no framework,
 * no database, no SDK) passing the same replies from the fake upstream to clients as SSE, 15 ms
 * batches, measured like bench/profile-streams.ts measures TeamGPT:
 *   npx tsx bench/bare-relay.ts [streams=300] [tokens=64] [concurrency=25]
 */
import { spawn } from "node:child_process";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { startFakeUpstream } from "../server/llm/fake-upstream";
import { processCpuTimes } from "./stats";

if (process.argv[2] === "--serve") serve(new URL(process.argv[3]!));
else await measure(Number(process.argv[2] ?? 300), Number(process.argv[3] ?? 64), Number(process.argv[4] ?? 25));

function serve(upstream: URL) {
  const agent = new Agent({ keepAlive: true });
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    let text = "";
    let sent = 0;
    let lastFlush = -Infinity;
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      lastFlush = performance.now();
      if (text.length === sent) return;
      res.write(`data: ${JSON.stringify({ type: "delta", text: text.slice(sent) })}\n\n`);
      sent = text.length;
    };
    const body = JSON.stringify({ model: "bench", stream: true, messages: [{ role: "user", content: "relay" }] });
    const options = { agent, method: "POST", headers: { "content-type": "application/json" } };
    request(`${upstream.href}/chat/completions`, options, (reply) => {
      reply.setEncoding("utf8");
      let buffer = "";
      reply.on("data", (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
          const data = buffer.slice("data: ".length, end);
          buffer = buffer.slice(end + 2);
          if (data !== "[DONE]")
            text += (JSON.parse(data) as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta?.content ?? "";
        }
        if (timer) return;
        const wait = lastFlush + 15 - performance.now();
        if (wait <= 0) flush();
        else timer = setTimeout(flush, wait);
      });
      reply.on("end", () => {
        clearTimeout(timer);
        flush();
        res.end(`data: ${JSON.stringify({ type: "done" })}\n\n`);
      });
    }).end(body);
  });
  server.listen(0, "127.0.0.1", () => console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
}

async function measure(streams: number, tokens: number, concurrency: number) {
  const text = Array.from({ length: tokens }, (_, i) => `w${i}`).join(" ");
  const upstream = await startFakeUpstream({ models: ["bench"], tokenDelayMs: 10, defaultText: text });
  const relay = spawn(process.execPath, ["--import", "tsx", import.meta.filename, "--serve", upstream.url], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve) => relay.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString().trim())));
  const one = async () => {
    await (await fetch(url)).arrayBuffer();
  };
  const batch = () => Promise.all(Array.from({ length: concurrency }, one));
  for (let i = 0; i < Math.ceil(100 / concurrency); i++) await batch();
  const before = processCpuTimes(relay.pid!);
  for (let i = 0; i < streams / concurrency; i++) await batch();
  const after = processCpuTimes(relay.pid!);
  const perReply = (seconds: number) => ((seconds / streams) * 1000).toFixed(2);
  console.log(
    `bare relay CPU per reply: ${perReply(after.user + after.system - before.user - before.system)} ms ` +
      `(user ${perReply(after.user - before.user)}, system ${perReply(after.system - before.system)}; ` +
      `${tokens} tokens, ${concurrency} at a time)`,
  );
  relay.kill();
  await upstream.close();
}
