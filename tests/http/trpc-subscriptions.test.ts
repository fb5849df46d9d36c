import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginTeamGPT } from "../../client";
import { EventWriter } from "../../server/http/trpc-subscriptions";
import { createUser, TEST_PASSWORD } from "../helpers/factories";
import { useProductionServer } from "../helpers/server";

const suite = useProductionServer();

interface WireEvent {
  event?: string;
  id?: string;
  data: string;
}

/** The raw SSE blocks of a response, as any SSE client would split them. */
async function wireEvents(response: Response): Promise<WireEvent[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const fields: WireEvent = { data: "" };
      for (const line of block.split("\n")) {
        const [name, ...rest] = line.split(": ");
        const value = rest.join(": ");
        if (name === "event") fields.event = value;
        if (name === "id") fields.id = value;
        if (name === "data") fields.data = value;
      }
      return fields;
    });
}

async function signedIn() {
  const user = await createUser(suite.server.services);
  const { client, token } = await loginTeamGPT(suite.server.url, { username: user.username, password: TEST_PASSWORD });
  return { client, headers: { authorization: `Bearer ${token}` } };
}

function subscriptionUrl(path: string, input: unknown) {
  return `${suite.server.url}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`;
}

describe("subscriptions speak tRPC's SSE wire format", () => {
  it("connected with the client options, tracked events with ids, then return", async () => {
    const { client, headers } = await signedIn();
    const { id: conversationId } = await client.conversations.create.mutate({});
    suite.upstream.enqueue({ kind: "reply", text: "one two three" });
    const response = await fetch(subscriptionUrl("chat.stream", { conversationId, content: "count" }), { headers });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(response.headers.get("cache-control")).toBe("no-cache, no-transform");
    expect(response.headers.get("x-accel-buffering")).toBe("no");
    const events = await wireEvents(response);

    expect(events[0]).toEqual({ event: "connected", data: JSON.stringify({ reconnectAfterInactivityMs: 40_000 }) });
    expect(events.at(-1)).toEqual({ event: "return", data: "" });
    const data = events.slice(1, -1);
    const start = JSON.parse(data[0]!.data) as { type: string; assistantMessage: { id: string } };
    expect(start.type).toBe("start");
    const replyId = start.assistantMessage.id;
    expect(data[0]!.id).toBe(`${replyId}:0`);
    const deltas = data.filter((event) => (JSON.parse(event.data) as { type: string }).type === "delta");
    expect(deltas.map((event) => (JSON.parse(event.data) as { text: string }).text).join("")).toBe("one two three");
    expect(deltas.at(-1)!.id).toBe(`${replyId}:13`);
    expect(data.at(-1)).toMatchObject({ id: `${replyId}:13:end` });
    expect(JSON.parse(data.at(-1)!.data)).toMatchObject({ type: "done", assistantMessage: { content: "one two three" } });
  });

  it("a refused call arrives as tRPC's serialized error, formatted like every other error", async () => {
    const { headers } = await signedIn();
    const missing = await wireEvents(await fetch(subscriptionUrl("chat.resume", { messageId: "nope" }), { headers }));
    expect(missing.map((event) => event.event)).toEqual(["connected", "serialized-error"]);
    expect(JSON.parse(missing[1]!.data)).toMatchObject({
      message: "That reply does not exist, or it is not yours.",
      data: { code: "NOT_FOUND", httpStatus: 404, path: "chat.resume" },
    });

    const anonymous = await wireEvents(await fetch(subscriptionUrl("chat.resume", { messageId: "x" })));
    expect(JSON.parse(anonymous[1]!.data)).toMatchObject({ data: { code: "UNAUTHORIZED" } });

    const invalid = await wireEvents(await fetch(subscriptionUrl("chat.stream", { conversationId: "c", content: " " }), { headers }));
    expect(JSON.parse(invalid[1]!.data)).toMatchObject({
      data: { code: "BAD_REQUEST", fieldErrors: { content: "Write a message first." } },
    });

    const notJson = await wireEvents(await fetch(`${suite.server.url}/api/trpc/chat.resume?input={oops`, { headers }));
    expect(JSON.parse(notJson[1]!.data)).toMatchObject({ data: { code: "PARSE_ERROR" } });
  });

  it("leaves paths that are not subscriptions to tRPC's adapter", async () => {
    const { headers } = await signedIn();
    const unknown = await fetch(`${suite.server.url}/api/trpc/chat.nothing`, { headers });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { data: { code: string } } }).error.data.code).toBe("NOT_FOUND");
    const query = await fetch(`${suite.server.url}/api/trpc/auth.me`, { headers });
    expect(query.status).toBe(200);
  });
});

describe("one SSE response", () => {
  let http: Server;
  let url: string;
  beforeAll(async () => {
    // Pings after 200 ms without an event: /busy sends one every 20 ms, /quiet every 500 ms.
    http = createServer((req, res) => {
      const writer = new EventWriter(res, 200);
      writer.open("{}");
      const busy = req.url === "/busy";
      let sent = 0;
      const timer = setInterval(
        () => {
          if (sent++ < (busy ? 8 : 2)) return void writer.send(String(sent), `e${sent}`);
          clearInterval(timer);
          writer.close();
        },
        busy ? 20 : 500,
      );
      res.on("close", () => clearInterval(timer));
    });
    await new Promise<void>((done) => http.listen(0, "127.0.0.1", done));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((done) => http.close(done)));

  it("pings while nothing else is sent, and not while events flow", async () => {
    const quiet = await wireEvents(await fetch(`${url}/quiet`));
    expect(quiet.filter((event) => event.event === "ping").length).toBeGreaterThan(0);
    const busy = await wireEvents(await fetch(`${url}/busy`));
    expect(busy.filter((event) => event.event === "ping")).toEqual([]);
    expect(busy.filter((event) => !event.event).map((event) => event.id)).toEqual(["e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8"]);
  });
});
