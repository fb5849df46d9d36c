import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";

/**
 * The `fetch` the openai SDK uses here: requests over node:http(s) keep-alive connections,
 * the response body handed over as a web stream. Node's built-in fetch (undici) spent about
 * 1.5 ms more CPU per streamed reply building its Request/Response machinery, more than the
 * rest of a reply's work together (bench/README.md, "Node's fetch (undici)"). The SDK sends a method, headers,
 * a string body and a signal; anything else goes to the built-in fetch.
 */
export function createHttpFetch(options: { idleSocketMs?: number } = {}): typeof fetch {
  // Idle connections are dropped before a typical server's 5 s keep-alive ends them under us;
  // Node's agent applies this only to idle ones, never to a reply that is slow to come.
  const timeout = options.idleSocketMs ?? 4_000;
  const agents = {
    "http:": new HttpAgent({ keepAlive: true, timeout, scheduling: "lifo" }),
    "https:": new HttpsAgent({ keepAlive: true, timeout, scheduling: "lifo" }),
  };
  return (input: string | URL | Request, init: RequestInit = {}) => {
    const url = typeof input === "string" ? new URL(input) : input instanceof URL ? input : null;
    const body = init.body ?? undefined;
    if (!url || (body !== undefined && typeof body !== "string") || !(url.protocol in agents)) return fetch(input, init);
    const protocol = url.protocol as keyof typeof agents;
    return send({ url, agent: agents[protocol], init, body }, true);
  };
}

interface Outgoing {
  url: URL;
  agent: HttpAgent;
  init: RequestInit;
  body: string | undefined;
}

function send(outgoing: Outgoing, mayRetry: boolean): Promise<Response> {
  const { url, agent, init, body } = outgoing;
  const signal = init.signal;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise<Response>((resolve, reject) => {
    const request = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, {
      agent,
      method: init.method ?? "GET",
      headers: plainHeaders(init.headers, body),
    });
    const onAbort = () => request.destroy(abortError(signal!));
    signal?.addEventListener("abort", onAbort, { once: true });
    const forgetSignal = () => signal?.removeEventListener("abort", onAbort);

    request.once("response", (response) => {
      response.once("close", forgetSignal);
      resolve(toResponse(response, request));
    });
    request.once("error", (error: NodeJS.ErrnoException) => {
      forgetSignal();
      if (signal?.aborted) return reject(abortError(signal));
      // A kept-alive connection the server closed just as we reused it: the request never
      // reached it, so sending it once more on a fresh connection is safe.
      if (mayRetry && request.reusedSocket && (error.code === "ECONNRESET" || error.code === "EPIPE")) {
        return resolve(send(outgoing, false));
      }
      reject(new TypeError("fetch failed", { cause: error }));
    });
    request.end(body);
  });
}

function plainHeaders(headers: HeadersInit | undefined, body: string | undefined): Record<string, string> {
  const plain: Record<string, string> = {};
  new Headers(headers).forEach((value, name) => (plain[name] = value));
  if (body !== undefined) plain["content-length"] = String(Buffer.byteLength(body));
  return plain;
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

function toResponse(response: IncomingMessage, request: ClientRequest): Response {
  const status = response.statusCode ?? 502;
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  if (NULL_BODY_STATUSES.has(status)) {
    response.resume();
    return new Response(null, { status, statusText: response.statusMessage, headers });
  }
  const decoded = decode(response, headers);
  const limits = status >= 400 ? { maxBytes: MAX_ERROR_BODY_BYTES } : { maxEventBytes: MAX_EVENT_BYTES };
  return new Response(webStream(decoded, request, limits), { status, statusText: response.statusMessage, headers });
}

/**
 * What a model server's answer may cost us, since the SDK reads it into memory: an error body
 * is read up to 64 KiB (a 200 MB one, or a gzip bomb, took ~900 MB), and one event of a reply's
 * stream may be 1 MiB (the SDK keeps an event's lines until the blank line that ends it: a line
 * without end, or a thousand data lines without a blank one, were buffered whole).
 */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const MAX_EVENT_BYTES = 1024 * 1024;

/** Why a reply's stream was cut: not a dropped connection, a server sending what no reply is. */
export class OversizedEventError extends Error {
  override name = "OversizedEventError";
  constructor(maxBytes: number) {
    super(`the model server sent an event of more than ${maxBytes} bytes`);
  }
}

/**
 * Bytes since the last blank line (an event's end: `\n\n`, or `\n\r\n` in `\r\n\r\n`),
 * given how many there were before `chunk`; an end split across chunks may count a line more.
 */
export function bytesAfterLastEventEnd(chunk: Buffer, before: number): number {
  const end = Math.max(chunk.lastIndexOf("\n\n"), chunk.lastIndexOf("\n\r\n"));
  if (end !== -1) return chunk.length - end - (chunk[end + 1] === 0x0a ? 2 : 3);
  return before + chunk.length;
}

/** Servers should not compress what we did not ask to be compressed; some proxies do anyway. */
function decode(response: IncomingMessage, headers: Headers): Readable {
  const encoding = headers.get("content-encoding")?.trim().toLowerCase();
  const decoder =
    encoding === "gzip" || encoding === "x-gzip"
      ? createGunzip()
      : encoding === "deflate"
        ? createInflate()
        : encoding === "br"
          ? createBrotliDecompress()
          : null;
  if (!decoder) return response;
  headers.delete("content-encoding");
  headers.delete("content-length");
  response.once("error", (error) => decoder.destroy(error));
  return response.pipe(decoder);
}

/**
 * A byte stream that reads from `source` only as fast as the SDK consumes it. Once it is
 * finished (ended, failed, or cancelled by the SDK) nothing more reaches the controller: data
 * or an end arriving after a cancel threw outside any handler and took the process down.
 */
function webStream(
  source: Readable,
  request: ClientRequest,
  limits: { maxBytes?: number; maxEventBytes?: number },
): ReadableStream<Uint8Array> {
  let finished = false;
  let bytes = 0;
  let sinceEventEnd = 0;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const stop = () => {
        source.pause();
        request.destroy();
      };
      source.on("data", (chunk: Buffer) => {
        if (finished) return;
        if (limits.maxBytes !== undefined && bytes + chunk.length > limits.maxBytes) {
          // Enough to say what went wrong; the rest is not read.
          controller.enqueue(new Uint8Array(chunk.subarray(0, limits.maxBytes - bytes)));
          finished = true;
          controller.close();
          stop();
          return;
        }
        bytes += chunk.length;
        if (limits.maxEventBytes !== undefined) {
          sinceEventEnd = bytesAfterLastEventEnd(chunk, sinceEventEnd);
          if (sinceEventEnd > limits.maxEventBytes) {
            fail(new OversizedEventError(limits.maxEventBytes));
            stop();
            return;
          }
        }
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) source.pause();
      });
      source.once("end", () => {
        if (finished) return;
        finished = true;
        controller.close();
      });
      const fail = (cause: unknown) => {
        if (finished) return;
        finished = true;
        // The words undici uses, which the provider recognises as a dropped connection.
        controller.error(new TypeError("terminated", { cause }));
      };
      source.once("error", fail);
      // A connection cut mid-body does not always come with an error event.
      source.once("close", () => fail(new Error("the connection closed before the response ended")));
    },
    pull() {
      source.resume();
    },
    cancel() {
      finished = true;
      request.destroy();
    },
  });
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException("This operation was aborted", "AbortError");
}
