/**
 * A load of concurrent streamed chats plus a burst of logins against a running TeamGPT, over
 * real HTTP and SSE. The test suite runs it at test size; the benchmark at larger sizes.
 */
export interface LoadOptions {
  url: string;
  /** Bearer tokens of signed-in people; streams are spread over them. */
  tokens: string[];
  streams: number;
  /** Accounts to log in with, all at once, while the streams run. */
  logins: { username: string; password: string }[];
  /** The text every reply should end up with. */
  expectedReply: string;
}

export interface LoadResult {
  completed: number;
  errors: string[];
  loginsOk: number;
  firstDeltaMs: number[];
  totalMs: number[];
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const errors: string[] = [];
  const firstDeltaMs: number[] = [];
  const totalMs: number[] = [];
  let completed = 0;

  const streams = Array.from({ length: options.streams }, async (_, i) => {
    const token = options.tokens[i % options.tokens.length]!;
    try {
      const conversation = await call(options.url, "conversations.create", {}, token);
      const started = performance.now();
      const { text, firstDelta, end } = await readStream(
        options.url,
        token,
        { conversationId: conversation.id, content: `load ${i}` },
        started,
      );
      if (end !== "done") errors.push(`stream ${i}: ended with ${end}`);
      else if (text !== options.expectedReply)
        errors.push(`stream ${i}: got ${text.length} characters, expected ${options.expectedReply.length}`);
      else completed++;
      if (firstDelta !== null) firstDeltaMs.push(firstDelta);
      totalMs.push(performance.now() - started);
    } catch (error) {
      errors.push(`stream ${i}: ${(error as Error).message}`);
    }
  });
  const logins = options.logins.map(async (credentials) => {
    const response = await fetch(`${options.url}/api/trpc/auth.login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(credentials),
    });
    if (response.status !== 200) errors.push(`login ${credentials.username}: HTTP ${response.status} ${await response.text()}`);
    return response.status === 200;
  });
  const [, loginResults] = await Promise.all([Promise.all(streams), Promise.all(logins)]);
  return { completed, errors, loginsOk: loginResults.filter(Boolean).length, firstDeltaMs, totalMs };
}

async function call(url: string, path: string, input: unknown, token: string): Promise<{ id: string }> {
  const response = await fetch(`${url}/api/trpc/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(input),
  });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  return ((await response.json()) as { result: { data: { id: string } } }).result.data;
}

/** Reads one chat.stream to its end: the deltas' text, when the first came, and how it ended. */
async function readStream(url: string, token: string, input: unknown, started: number) {
  const response = await fetch(`${url}/api/trpc/chat.stream?input=${encodeURIComponent(JSON.stringify(input))}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok || !response.body) throw new Error(`chat.stream: HTTP ${response.status}`);
  const decoder = new TextDecoder();
  let buffer = "";
  let text = "";
  let firstDelta: number | null = null;
  const reader = response.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    buffer += decoder.decode(read.value, { stream: true });
    let boundary;
    while ((boundary = buffer.indexOf("\n\n")) !== -1) {
      const event = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      if (event.startsWith("event: serialized-error")) {
        await reader.cancel();
        return { text, firstDelta, end: `error event: ${event.slice(0, 300)}` };
      }
      const data = event.split("\n").find((line) => line.startsWith("data: "));
      if (!data || event.startsWith("event:")) continue;
      const payload = JSON.parse(data.slice(6)) as { type: string; text?: string; message?: string };
      if (payload.type === "delta") {
        firstDelta ??= performance.now() - started;
        text += payload.text;
      }
      if (payload.type === "done" || payload.type === "error") {
        await reader.cancel();
        return { text, firstDelta, end: payload.type === "done" ? "done" : `error: ${payload.message}` };
      }
    }
  }
  return { text, firstDelta, end: "connection closed early" };
}
