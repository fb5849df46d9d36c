import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { createHttpFetch } from "../../server/llm/http-fetch";
import { createOpenAIProvider } from "../../server/llm/openai-provider";

type Handler = (req: IncomingMessage, res: ServerResponse, requestOnSocket: number) => void;

const servers: Server[] = [];

async function serve(handler: Handler): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const perSocket = new WeakMap<Socket, number>();
  const server = createServer((req, res) => {
    const n = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, n);
    handler(req, res, n);
  });
  server.on("connection", () => connections++);
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
});

async function drain(events: AsyncIterable<unknown>): Promise<void> {
  for await (const event of events) void event;
}

async function readAll(body: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(body).text();
}

describe("the fetch the openai SDK uses", () => {
  it("sends the method, headers and body, and answers status, headers and body", async () => {
    const { url } = await serve((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        res.writeHead(201, { "content-type": "application/json", "x-echo": String(req.headers.authorization) });
        res.end(JSON.stringify({ method: req.method, body, length: req.headers["content-length"] }));
      });
    });
    const response = await createHttpFetch()(`${url}/v1/echo`, {
      method: "POST",
      headers: new Headers({ authorization: "Bearer k", "content-type": "application/json" }),
      body: '{"ü":1}',
    });
    expect(response.status).toBe(201);
    expect(response.headers.get("x-echo")).toBe("Bearer k");
    expect(await response.json()).toEqual({ method: "POST", body: '{"ü":1}', length: "8" });
  });

  it("hands over each piece of a streamed body as it arrives", async () => {
    let sendSecond!: () => void;
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: one\n\n");
      sendSecond = () => res.end("data: two\n\n");
    });
    const response = await createHttpFetch()(`${url}/stream`, {});
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    expect(decoder.decode((await reader.read()).value)).toBe("data: one\n\n");
    sendSecond();
    expect(decoder.decode((await reader.read()).value)).toBe("data: two\n\n");
    expect((await reader.read()).done).toBe(true);
  });

  it("keeps the connection for the next request", async () => {
    const server = await serve((_req, res) => res.end("ok"));
    const fetch = createHttpFetch();
    for (let i = 0; i < 3; i++) expect(await (await fetch(`${server.url}/`, {})).text()).toBe("ok");
    expect(server.connections()).toBe(1);
  });

  it("sends a request once more when the server had closed the kept-alive connection", async () => {
    // The server answers the first request on a connection and drops the connection on the second.
    const server = await serve((req, res, requestOnSocket) => {
      if (requestOnSocket > 1) return req.socket.destroy();
      res.end("fresh");
    });
    const fetch = createHttpFetch();
    expect(await (await fetch(`${server.url}/`, { method: "POST", body: "{}" })).text()).toBe("fresh");
    expect(await (await fetch(`${server.url}/`, { method: "POST", body: "{}" })).text()).toBe("fresh");
    expect(server.connections()).toBe(2);
  });

  it("waits for a slow answer longer than idle connections are kept", async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: first\n\n");
      setTimeout(() => res.end("data: late\n\n"), 300);
    });
    const fetch = createHttpFetch({ idleSocketMs: 50 });
    for (let i = 0; i < 2; i++) {
      // The second time on the connection the first one left idle.
      expect(await (await fetch(`${url}/slow`, {})).text()).toBe("data: first\n\ndata: late\n\n");
    }
    // And a request that waits before its headers.
    const { url: silent } = await serve((_req, res) => setTimeout(() => res.end("ok"), 300));
    expect(await (await fetch(`${silent}/`, {})).text()).toBe("ok");
  });

  it("decodes a compressed body", async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { "content-encoding": "gzip", "content-type": "application/json" });
      res.end(gzipSync('{"data":[]}'));
    });
    const response = await createHttpFetch()(`${url}/models`, {});
    expect(response.headers.get("content-encoding")).toBeNull();
    expect(await response.json()).toEqual({ data: [] });
  });

  it("fails like fetch when nothing listens", async () => {
    const { url } = await serve(() => {});
    for (const server of servers.splice(0)) await new Promise((done) => server.close(done));
    const failure = await createHttpFetch()(`${url}/`, {}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as TypeError).message).toBe("fetch failed");
    expect(((failure as TypeError).cause as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
  });

  it("stops waiting for an answer when the signal aborts", async () => {
    let closed!: () => void;
    const requestClosed = new Promise<void>((done) => (closed = done));
    const { url } = await serve((req) => req.socket.on("close", closed));
    const controller = new AbortController();
    const pending = createHttpFetch()(`${url}/hang`, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const failure = await pending.catch((error: unknown) => error);
    expect((failure as Error).name).toBe("AbortError");
    await requestClosed;
  });

  it("ends the body with an error when the signal aborts mid-stream, and closes the connection", async () => {
    let closed!: () => void;
    const requestClosed = new Promise<void>((done) => (closed = done));
    const { url } = await serve((req, res) => {
      req.socket.on("close", closed);
      res.writeHead(200);
      res.write("first");
    });
    const controller = new AbortController();
    const response = await createHttpFetch()(`${url}/stream`, { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await expect(reader.read()).rejects.toThrow();
    await requestClosed;
  });

  it("reports a connection cut mid-body as terminated, as Node's fetch does", async () => {
    const { url } = await serve((req, res) => {
      res.writeHead(200);
      res.write("partial");
      setTimeout(() => req.socket.destroy(), 10);
    });
    const response = await createHttpFetch()(`${url}/stream`, {});
    await expect(readAll(response.body!)).rejects.toThrow("terminated");
  });

  it("a body the SDK gives up on ends quietly, whenever its end arrives (it threw outside any handler and killed the process)", async () => {
    const chunk = (text: string) =>
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })}\n\n`;
    const { url } = await serve((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(`${chunk("ok ")}data: {not json\n\n`); // the SDK gives up here...
        res.end("data: [DONE]\n\n"); // ...and the end is already on its way
      });
    });
    const stray: unknown[] = [];
    const onStray = (error: unknown) => stray.push(error);
    process.on("uncaughtException", onStray);
    try {
      const provider = createOpenAIProvider({ apiKey: "k", baseURL: `${url}/v1` });
      for (let i = 0; i < 20; i++) {
        const reply = provider.stream({
          model: "m",
          messages: [{ role: "user", content: "hi" }],
          maxTokens: 10,
          signal: new AbortController().signal,
        });
        await expect(drain(reply)).rejects.toThrow("The model server sent a malformed reply.");
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      process.off("uncaughtException", onStray);
    }
    expect(stray).toEqual([]);
  });

  it("reads at most 64 KiB of an error body, and refuses an event of more than 1 MiB", async () => {
    const { url } = await serve((req, res) => {
      if (req.url === "/error") {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(`{"error":{"message":"${"x".repeat(5_000_000)}"}}`);
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      if (req.url === "/line") res.end(`data: ${"y".repeat(2 * 1024 * 1024)}`);
      else if (req.url === "/lines")
        res.end(`data: ${"z".repeat(1000)}\n`.repeat(2000)); // no blank line ends the event
      else res.end(`data: ${"w".repeat(1000)}\r\n\r\n`.repeat(2000)); // 2 MB of small events: fine
    });
    const error = await createHttpFetch()(`${url}/error`);
    expect((await error.text()).length).toBe(64 * 1024);
    for (const path of ["/line", "/lines"]) await expect((await createHttpFetch()(`${url}${path}`)).text()).rejects.toThrow("terminated");
    expect((await (await createHttpFetch()(`${url}/events`)).text()).length).toBe(1010 * 2000);
  });
});
