import {
  callTRPCProcedure,
  getTRPCErrorFromUnknown,
  getTRPCErrorShape,
  isTrackedEnvelope,
  TRPCError,
  type AnyTRPCProcedure,
} from "@trpc/server";
import type { ServerResponse } from "node:http";
import type { NextFunction, Request, Response } from "express";
import type { Context } from "../trpc/context";
import { appRouter } from "../trpc/root";

/**
 * tRPC subscriptions over SSE, written straight to the response.
 *
 * tRPC's HTTP adapter turns each event into three strings that pass through five web streams
 * and async generators before reaching the socket: about 0.16 ms of CPU per event, ten times
 * the write itself, and most of what a streamed reply cost the server (bench/README.md, "tRPC's SSE adapter").
 * This handler runs the same procedure the same way (`callTRPCProcedure`: its middlewares,
 * input validation and error formatter) and writes tRPC's SSE wire format itself, so
 * @trpc/client's httpSubscriptionLink reads it unchanged: `connected` with the client options,
 * `id:` for tracked events, `ping` when quiet, `serialized-error`, `return` at the end.
 * Anything else under /api/trpc (queries, mutations, unusual requests) goes to tRPC's adapter.
 */

const SSE_HEADERS = {
  "Content-Type": "text/event-stream",
  "Cache-Control": "no-cache, no-transform",
  "X-Accel-Buffering": "no",
  Connection: "keep-alive",
};

export interface SubscriptionHandlerOptions {
  createContext: (req: Request, res: Response) => Context;
  onError: (failure: { error: TRPCError; path: string; ctx: Context | undefined }) => void;
}

export function trpcSubscriptions(options: SubscriptionHandlerOptions) {
  const subscriptions = subscriptionPaths();
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== "GET") return next();
    const url = new URL(req.url, "http://localhost");
    const path = url.pathname.slice(1);
    // Batched or encoded paths, connection params and the like stay with tRPC's own adapter.
    if (!subscriptions.has(path) || url.searchParams.has("connectionParams")) return next();
    streamSubscription(req, res, path, url.searchParams, options).catch(next);
  };
}

/** tRPC keeps every procedure under its full path ("chat.stream") at run time. */
function subscriptionPaths(): Set<string> {
  const procedures: Record<string, unknown> = appRouter._def.procedures;
  return new Set(Object.keys(procedures).filter((path) => isSubscription(procedures[path])));
}

function isSubscription(value: unknown): value is AnyTRPCProcedure {
  return typeof value === "function" && "_def" in value && (value as AnyTRPCProcedure)._def.type === "subscription";
}

async function streamSubscription(
  req: Request,
  res: Response,
  path: string,
  query: URLSearchParams,
  { createContext, onError }: SubscriptionHandlerOptions,
): Promise<void> {
  const config = appRouter._def._config;
  const stopped = new AbortController();
  res.once("close", () => stopped.abort());
  const writer = new EventWriter(res, config.sse?.ping?.enabled ? (config.sse.ping.intervalMs ?? 1000) : 0);
  let ctx: Context | undefined;
  let input: unknown;
  try {
    ctx = createContext(req, res);
    input = readInput(query, req.get("last-event-id"), (value) => config.transformer.input.deserialize(value));
    const events: unknown = await callTRPCProcedure({
      router: appRouter,
      path,
      getRawInput: () => Promise.resolve(input),
      ctx,
      type: "subscription",
      signal: stopped.signal,
      batchIndex: 0,
    });
    if (!isAsyncIterable(events)) {
      throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: `Subscription ${path} did not return an async generator` });
    }
    writer.open(JSON.stringify(config.sse?.client ?? {}));
    for await (const value of events) {
      if (stopped.signal.aborted) break;
      const [id, data] = isTrackedEnvelope(value) ? [String(value[0]), value[1]] : [undefined, value];
      await writer.send(JSON.stringify(config.transformer.output.serialize(data)), id);
    }
    if (!stopped.signal.aborted) void writer.send("", undefined, "return");
  } catch (cause) {
    if (stopped.signal.aborted) return;
    const error = getTRPCErrorFromUnknown(cause);
    onError({ error, path, ctx });
    const shape = getTRPCErrorShape({ config, ctx, error, input, path, type: "subscription" });
    writer.open(JSON.stringify(config.sse?.client ?? {}));
    void writer.send(JSON.stringify(config.transformer.output.serialize(shape)), undefined, "serialized-error");
  } finally {
    writer.close();
  }
}

/** The input as tRPC reads it from a GET, with the client's last event id merged in. */
function readInput(query: URLSearchParams, header: string | undefined, deserialize: (value: unknown) => unknown): unknown {
  const raw = query.get("input");
  let input: unknown;
  try {
    input = raw === null ? undefined : deserialize(JSON.parse(raw));
  } catch (cause) {
    throw new TRPCError({ code: "PARSE_ERROR", message: "The input is not valid JSON.", cause });
  }
  const lastEventId = header ?? query.get("lastEventId") ?? query.get("Last-Event-Id");
  if (!lastEventId) return input;
  if (typeof input === "object" && input !== null) return { ...input, lastEventId };
  return input ?? { lastEventId };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}

/** One SSE response: each event is one write, and a slow reader slows the producer down. */
export class EventWriter {
  private opened = false;
  private readonly ping: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: ServerResponse,
    pingMs: number,
  ) {
    // tRPC's client reconnects after a quiet spell; a `ping` event (not an SSE comment) resets it.
    if (pingMs > 0) {
      this.ping = setInterval(() => {
        if (this.opened) void this.write("event: ping\ndata: \n\n");
      }, pingMs);
    }
  }

  open(clientOptions: string): void {
    if (this.opened) return;
    this.opened = true;
    this.res.writeHead(200, SSE_HEADERS);
    void this.write(`event: connected\ndata: ${clientOptions}\n\n`);
  }

  send(data: string, id?: string, event?: string): Promise<void> | undefined {
    this.ping?.refresh();
    const idLine = id === undefined || /[\0\n\r]/.test(id) ? "" : `id: ${id}\n`;
    return this.write(`${event ? `event: ${event}\n` : ""}data: ${data}\n${idLine}\n`);
  }

  close(): void {
    clearInterval(this.ping);
    if (!this.res.writableEnded) this.res.end();
  }

  private write(text: string): Promise<void> | undefined {
    if (this.res.write(text) || this.res.destroyed) return undefined;
    return new Promise((resolve) => {
      const done = () => {
        this.res.off("drain", done);
        this.res.off("close", done);
        resolve();
      };
      this.res.on("drain", done);
      this.res.on("close", done);
    });
  }
}
