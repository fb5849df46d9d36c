import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, type TRPCClient } from "@trpc/client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import { EventSource } from "eventsource";
import type { AppRouter } from "../server/trpc/root";

/**
 * A typed TeamGPT client for other TypeScript programs (Node 20+ or a browser):
 *
 *   const teamgpt = createTeamGPTClient({ url: "http://localhost:3000", token });
 *   const conversation = await teamgpt.conversations.create.mutate({});
 *   teamgpt.chat.stream.subscribe({ conversationId: conversation.id, content: "Hi" }, { onData: ({ data }) => … });
 *
 * Queries and mutations go through one batched HTTP link; subscriptions through SSE, with
 * the bearer token sent as a header (the `eventsource` package can, the browser's cannot)
 * and tRPC's automatic reconnect resuming from the last event seen.
 */
export interface TeamGPTClientOptions {
  /** Where TeamGPT runs, e.g. http://localhost:3000 (the /api/trpc path is added). */
  url: string;
  /** A session token from `auth.login` or `auth.register`; leave out to call `auth.login` first. */
  token?: string;
}

export type TeamGPTClient = TRPCClient<AppRouter>;
export type { AppRouter };
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;

export function createTeamGPTClient({ url, token }: TeamGPTClientOptions): TeamGPTClient {
  const endpoint = `${url.replace(/\/+$/, "")}/api/trpc`;
  // The client header proves to the server that a cookie request comes from a TeamGPT page
  // (server/http/auth-middleware.ts): another site cannot send it.
  const headers: Record<string, string> = { "x-teamgpt-client": "1", ...(token ? { authorization: `Bearer ${token}` } : {}) };
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({
          url: endpoint,
          EventSource,
          eventSourceOptions: () => ({
            fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...headers } }),
          }),
        }),
        // The server refuses batches of more than 20 calls (server/http/app.ts MAX_BATCH_CALLS).
        false: httpBatchLink({ url: endpoint, headers: () => headers, maxItems: 20 }),
      }),
    ],
  });
}

/** Logs in and returns a client that carries the new session's token. */
export async function loginTeamGPT(url: string, credentials: { username: string; password: string }) {
  const { token, user } = await createTeamGPTClient({ url }).auth.login.mutate(credentials);
  return { client: createTeamGPTClient({ url, token }), token, user };
}
