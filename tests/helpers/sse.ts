export interface RawEvent {
  event: string;
  id?: string;
  data: string;
}

/** An event stream read straight off the wire, as a script in any language would. */
export interface RawStream {
  status: number;
  events: RawEvent[];
  /** Resolves once an event matching `check` has arrived (or the stream ended: then it rejects). */
  waitFor(check: (event: RawEvent) => boolean, timeoutMs?: number): Promise<RawEvent>;
  /** Resolves when the server closes the stream. */
  closed: Promise<void>;
  close(): void;
}

export async function openRawStream(url: string, headers: Record<string, string>): Promise<RawStream> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  const events: RawEvent[] = [];
  const listeners = new Set<() => void>();
  let ended = false;
  const closed = (async () => {
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: RawEvent = { event: "message", data: "" };
          for (const line of block.split("\n")) {
            const [field, ...rest] = line.split(": ");
            const value = rest.join(": ");
            if (field === "event") event.event = value;
            else if (field === "id") event.id = value;
            else if (field === "data") event.data = value;
          }
          events.push(event);
          for (const listener of listeners) listener();
        }
      }
    } catch {
      // aborted by close()
    } finally {
      ended = true;
      for (const listener of listeners) listener();
    }
  })();
  return {
    status: response.status,
    events,
    closed,
    close: () => controller.abort(),
    waitFor(check, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error("no such event in time")), timeoutMs);
        const finish = (error?: Error, event?: RawEvent) => {
          clearTimeout(timer);
          listeners.delete(look);
          if (error) reject(error);
          else resolve(event!);
        };
        const look = () => {
          const found = events.find(check);
          if (found) finish(undefined, found);
          else if (ended) finish(new Error(`the stream ended first: ${JSON.stringify(events.slice(-3))}`));
        };
        listeners.add(look);
        look();
      });
    },
  };
}

/** The tRPC error a stream ended with (`event: serialized-error`), if any. */
export function streamError(event: RawEvent): { code: string; message: string } {
  const shape = JSON.parse(event.data) as { message: string; data: { code: string } };
  return { code: shape.data.code, message: shape.message };
}
