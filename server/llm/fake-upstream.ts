import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A deterministic OpenAI-compatible server (`POST /v1/chat/completions`, `GET /v1/models`).
 * It is TeamGPT's offline demo model when no model server is configured, and the upstream
 * every test and benchmark talks to over real HTTP through the real `openai` SDK.
 */

export type FakeBehavior =
  /**
   * A normal reply: `text` (default: the demo reply) streamed in word-sized tokens, after
   * `reasoning` (a reasoning model's thinking, in `reasoningField`) when given. `headersDelayMs`
   * holds even the headers back, as a busy one-slot server queues a request; `finishReason`
   * is what the last chunk says.
   */
  | {
      kind: "reply";
      text?: string;
      tokens?: string[];
      reasoning?: string;
      reasoningField?: "reasoning_content" | "reasoning";
      tokenDelayMs?: number;
      firstTokenDelayMs?: number;
      headersDelayMs?: number;
      finishReason?: "stop" | "length";
      usage?: boolean;
    }
  /** Sends `afterTokens` tokens, then an error inside the stream (llama.cpp's context-full), and ends. */
  | { kind: "stream-error"; afterTokens: number; text?: string; message?: string; code?: number }
  /** An HTTP error, as OpenAI sends them. */
  | { kind: "status"; status: number; message?: string; headers?: Record<string, string> }
  /** Accepts the request and never answers. */
  | { kind: "hang" }
  /** Sends `afterTokens` tokens, then goes silent with the connection open. */
  | { kind: "stall"; afterTokens: number; text?: string }
  /** Sends `afterTokens` tokens, then cuts the connection. */
  | { kind: "drop"; afterTokens: number; text?: string }
  /** Streams `chunk` again and again until the client goes away, whatever length it asked for. */
  | { kind: "endless"; chunk?: string; chunkDelayMs?: number }
  /** Answers 200 with a web page instead of an event stream (a proxy's error or login page). */
  | { kind: "html"; body?: string }
  /** A stream that ends (`[DONE]`) without a word of text. */
  | { kind: "empty" }
  /** Exactly these bytes, in one write, with this status and content type (a broken or hostile server). */
  | { kind: "raw"; body: string | Buffer; status?: number; contentType?: string };

export interface RecordedRequest {
  model: string;
  messages: { role: string; content: string }[];
  stream: boolean;
  authorization: string | undefined;
  /** The client closed the connection before the reply was complete (a stop or a timeout). */
  closedEarly: boolean;
  /** Tokens written before the reply ended or the client went away. */
  tokensSent: number;
  /** The longest reply the client asked for, and under which name (`max_tokens` or `max_completion_tokens`). */
  maxTokens: { name: "max_tokens" | "max_completion_tokens"; value: number } | null;
  /** The temperature asked for, if any. */
  temperature: number | undefined;
}

export interface FakeUpstreamOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>` (else 401). */
  apiKey?: string;
  /** When set, other models answer 404 as OpenAI does. */
  models?: string[];
  /** Pause before each token; the demo uses a human reading pace. */
  tokenDelayMs?: number;
  /** The reply when nothing is queued (default: the demo reply). */
  defaultText?: string;
  host?: string;
  port?: number;
}

export interface FakeUpstream {
  /** The base URL to give the SDK, ending in /v1. */
  url: string;
  requests: RecordedRequest[];
  /** Queues behaviours for the next requests, in order; then it answers with the default reply. */
  enqueue(...behaviors: FakeBehavior[]): void;
  /** Queues behaviours for the next requests for one model (before the shared queue): replies asked of several models at once. */
  enqueueFor(model: string, ...behaviors: FakeBehavior[]): void;
  /** Forgets queued behaviours and recorded requests (between tests). */
  reset(): void;
  close(): Promise<void>;
}

export function demoReply(lastUserMessage: string): string {
  const quoted = lastUserMessage.trim().replace(/\s+/g, " ").slice(0, 160);
  return [
    "This is TeamGPT's **offline demo**: the reply is canned, not written by an AI.",
    "",
    // No second full stop after a message that ends a sentence of its own.
    ...(quoted ? [`You wrote: “${quoted}”${/[.!?…]$/.test(quoted) ? "" : "."}`, ""] : []),
    "To talk to a real model, set `OPENAI_API_KEY` (and `OPENAI_BASE_URL` for a server other than OpenAI's, such as Ollama or vLLM) and restart TeamGPT.",
    "",
    "Replies are rendered as Markdown:",
    "",
    "- lists and **emphasis**",
    "- math, such as $e^{i\\pi} + 1 = 0$",
    "- `inline code` and code blocks:",
    "",
    "```ts",
    "const answer = 6 * 7;",
    "```",
  ].join("\n");
}

/** Word-sized pieces, each keeping its trailing white space, so joining them gives the text back. */
export function tokenize(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? [];
}

export async function startFakeUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const queue: FakeBehavior[] = [];
  const queuesByModel = new Map<string, FakeBehavior[]>();
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? "/", "http://fake").pathname;
    if (req.method === "GET" && path === "/v1/models") {
      if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
        return openAiError(res, 401, "Incorrect API key provided.", "invalid_api_key");
      }
      return json(res, 200, {
        object: "list",
        data: (options.models ?? ["teamgpt-demo"]).map((id) => ({ id, object: "model", owned_by: "teamgpt" })),
      });
    }
    if (req.method !== "POST" || path !== "/v1/chat/completions") return openAiError(res, 404, `Unknown path ${path}`);
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return openAiError(res, 401, "Incorrect API key provided.", "invalid_api_key");
    }
    const body = JSON.parse(await readBody(req)) as {
      model: string;
      messages: { role: string; content: string }[];
      stream?: boolean;
      max_tokens?: number;
      max_completion_tokens?: number;
      temperature?: number;
    };
    const record: RecordedRequest = {
      model: body.model,
      messages: body.messages,
      stream: body.stream === true,
      authorization: req.headers.authorization,
      closedEarly: false,
      tokensSent: 0,
      temperature: body.temperature,
      maxTokens:
        body.max_completion_tokens !== undefined
          ? { name: "max_completion_tokens", value: body.max_completion_tokens }
          : body.max_tokens !== undefined
            ? { name: "max_tokens", value: body.max_tokens }
            : null,
    };
    requests.push(record);
    res.on("close", () => {
      if (!res.writableFinished) record.closedEarly = true;
    });
    if (options.models && !options.models.includes(body.model)) {
      return openAiError(res, 404, `The model \`${body.model}\` does not exist or you do not have access to it.`, "model_not_found");
    }
    const behavior = queuesByModel.get(body.model)?.shift() ?? queue.shift() ?? { kind: "reply" };
    const lastUser = [...body.messages].reverse().find((message) => message.role === "user")?.content ?? "";
    await respond(behavior, record, lastUser, res);
  }

  async function respond(behavior: FakeBehavior, record: RecordedRequest, lastUser: string, res: ServerResponse) {
    switch (behavior.kind) {
      case "status":
        return openAiError(res, behavior.status, behavior.message ?? `Fake upstream error ${behavior.status}`, undefined, behavior.headers);
      case "hang":
        return; // the request stays open until the client gives up
      case "reply": {
        const tokens = behavior.tokens ?? tokenize(behavior.text ?? options.defaultText ?? demoReply(lastUser));
        const thoughts = tokenize(behavior.reasoning ?? "");
        const delay = behavior.tokenDelayMs ?? options.tokenDelayMs ?? 0;
        if (!record.stream) return json(res, 200, completion(record, tokens.join("")));
        if (behavior.headersDelayMs) await sleep(behavior.headersDelayMs);
        startStream(res);
        if (behavior.firstTokenDelayMs) await sleep(behavior.firstTokenDelayMs);
        const reasoningField = behavior.reasoningField ?? "reasoning_content";
        const pieces = [...thoughts.map((token) => ({ [reasoningField]: token })), ...tokens.map((token) => ({ content: token }))];
        for (const delta of pieces) {
          if (res.destroyed) return;
          if (delay > 0) await sleep(delay);
          writeChunk(res, record, delta);
        }
        writeChunk(res, record, {}, behavior.finishReason ?? "stop");
        if (behavior.usage !== false) {
          const promptTokens = record.messages.reduce((sum, message) => sum + tokenize(message.content).length, 0);
          const completionTokens = thoughts.length + tokens.length;
          writeData(res, {
            ...chunkBase(record),
            choices: [],
            usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
          });
        }
        res.end("data: [DONE]\n\n");
        return;
      }
      case "stream-error": {
        startStream(res);
        for (const token of tokenize(behavior.text ?? demoReply(lastUser)).slice(0, behavior.afterTokens)) {
          writeChunk(res, record, { content: token });
        }
        const code = behavior.code ?? 500;
        writeData(res, { error: { code, message: behavior.message ?? "Context size has been exceeded.", type: "server_error" } });
        res.end();
        return;
      }
      case "endless": {
        startStream(res);
        while (!res.destroyed) {
          writeChunk(res, record, { content: behavior.chunk ?? "and on " });
          // Let the client's reads (and its decision to stop) in between.
          await sleep(behavior.chunkDelayMs ?? 0);
        }
        return;
      }
      case "html":
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(behavior.body ?? "<!doctype html><title>Sign in</title><h1>Please sign in to the proxy</h1>");
        return;
      case "raw":
        res.writeHead(behavior.status ?? 200, { "content-type": behavior.contentType ?? "text/event-stream" });
        res.end(behavior.body);
        return;
      case "empty":
        startStream(res);
        writeChunk(res, record, {});
        writeChunk(res, record, {}, "stop");
        res.end("data: [DONE]\n\n");
        return;
      case "stall":
      case "drop": {
        startStream(res);
        const tokens = tokenize(behavior.text ?? demoReply(lastUser)).slice(0, behavior.afterTokens);
        for (const token of tokens) writeChunk(res, record, { content: token });
        if (behavior.kind === "drop") {
          await sleep(10); // let the tokens leave before the connection is cut
          res.socket?.destroy();
        }
        return;
      }
    }
  }

  function writeChunk(res: ServerResponse, record: RecordedRequest, delta: Record<string, string>, finishReason: string | null = null) {
    if (Object.keys(delta).length) record.tokensSent++;
    writeData(res, { ...chunkBase(record), choices: [{ index: 0, delta: { role: "assistant", ...delta }, finish_reason: finishReason }] });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}/v1`,
    requests,
    enqueue: (...behaviors) => queue.push(...behaviors),
    enqueueFor: (model, ...behaviors) => queuesByModel.set(model, [...(queuesByModel.get(model) ?? []), ...behaviors]),
    reset: () => {
      queue.length = 0;
      queuesByModel.clear();
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let completionCounter = 0;
function chunkBase(record: RecordedRequest) {
  return {
    id: `chatcmpl-fake-${++completionCounter}`,
    object: "chat.completion.chunk",
    created: Math.floor(Date.now() / 1000),
    model: record.model,
  };
}

function completion(record: RecordedRequest, text: string) {
  const completionTokens = tokenize(text).length;
  return {
    id: `chatcmpl-fake-${++completionCounter}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: record.model,
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    usage: { prompt_tokens: 0, completion_tokens: completionTokens, total_tokens: completionTokens },
  };
}

function startStream(res: ServerResponse) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  res.flushHeaders();
}

function writeData(res: ServerResponse, data: unknown) {
  if (!res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`);
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

function openAiError(res: ServerResponse, status: number, message: string, code?: string, headers?: Record<string, string>) {
  json(
    res,
    status,
    { error: { message, type: status === 429 ? "rate_limit_error" : "invalid_request_error", code: code ?? null, param: null } },
    headers,
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
