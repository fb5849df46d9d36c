/** Timing of one streamed reply as a client sees it. */
export interface StreamTiming {
  firstDeltaMs: number;
  totalMs: number;
  /** Milliseconds between consecutive deltas. */
  gaps: number[];
  text: string;
}

/** Reads SSE `data:` payloads from a fetch response, calling `onData` for each. */
async function readSse(response: Response, onData: (data: string, event: string | null) => boolean | void): Promise<void> {
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    buffer += decoder.decode(read.value, { stream: true });
    let boundary;
    while ((boundary = buffer.indexOf("\n\n")) !== -1) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const lines = block.split("\n");
      const event = lines.find((line) => line.startsWith("event: "))?.slice(7) ?? null;
      const data = lines.find((line) => line.startsWith("data: "))?.slice(6);
      if (data !== undefined && onData(data, event) === true) {
        await reader.cancel();
        return;
      }
    }
  }
}

function timer() {
  const started = performance.now();
  let last = 0;
  const gaps: number[] = [];
  let first = NaN;
  return {
    delta() {
      const now = performance.now() - started;
      if (Number.isNaN(first)) first = now;
      else gaps.push(now - last);
      last = now;
    },
    result(text: string): StreamTiming {
      return { firstDeltaMs: first, totalMs: performance.now() - started, gaps, text };
    },
  };
}

/** One reply through TeamGPT: chat.stream over SSE with a bearer token. */
export async function teamgptStream(url: string, token: string, conversationId: string, content: string): Promise<StreamTiming> {
  const clock = timer();
  let text = "";
  // Set by the callback below: typed so, since TypeScript narrows a `let` to its first value.
  let failure = null as string | null;
  const response = await fetch(`${url}/api/trpc/chat.stream?input=${encodeURIComponent(JSON.stringify({ conversationId, content }))}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await readSse(response, (data, event) => {
    if (event === "serialized-error") {
      failure = data;
      return true;
    }
    if (event) return;
    const payload = JSON.parse(data) as { type: string; text?: string; message?: string };
    if (payload.type === "delta") {
      clock.delta();
      text += payload.text;
    }
    if (payload.type === "error") failure = payload.message ?? "error";
    return payload.type === "done" || payload.type === "error";
  });
  if (failure) throw new Error(`TeamGPT stream failed: ${failure}`);
  return clock.result(text);
}

/** The floor: the same reply straight from the OpenAI-compatible upstream. */
export async function upstreamStream(baseUrl: string, model: string, content: string): Promise<StreamTiming> {
  const clock = timer();
  let text = "";
  const response = await fetch(`${baseUrl}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, stream: true, messages: [{ role: "user", content }] }),
  });
  await readSse(response, (data) => {
    if (data === "[DONE]") return true;
    const chunk = JSON.parse(data) as { choices: { delta?: { content?: string } }[] };
    const piece = chunk.choices[0]?.delta?.content;
    if (piece) {
      clock.delta();
      text += piece;
    }
  });
  return clock.result(text);
}
