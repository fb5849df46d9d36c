/**
 * `npm run example:client -- "your question"`: logs in with TEAMGPT_USERNAME and
 * TEAMGPT_PASSWORD at TEAMGPT_URL (default http://localhost:3000), starts a conversation and
 * prints the reply as it streams.
 */
import "dotenv/config";
import { randomUUID } from "node:crypto";
import { loginTeamGPT } from "./index";

const question = process.argv.slice(2).join(" ").trim();
const url = process.env.TEAMGPT_URL ?? "http://localhost:3000";
const username = process.env.TEAMGPT_USERNAME;
const password = process.env.TEAMGPT_PASSWORD;

if (!question || !username || !password) {
  console.error('Usage: TEAMGPT_USERNAME=… TEAMGPT_PASSWORD=… [TEAMGPT_URL=…] npm run example:client -- "your question"');
  process.exit(2);
}

// `… | head` closes the pipe early: that is the reader being done, not a failure.
process.stdout.on("error", (error: NodeJS.ErrnoException) => process.exit(error.code === "EPIPE" ? 0 : 1));

/** One readable line for what went wrong (a wrong password, an unreachable server), not a stack. */
function fail(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : "";
  console.error(`TeamGPT at ${url}: ${message}${cause}`);
  process.exit(1);
}

const { client } = await loginTeamGPT(url, { username, password }).catch(fail);
const conversation = await client.conversations.create.mutate({}).catch(fail);

const exitCode = await new Promise<number>((resolve) => {
  const subscription = client.chat.stream.subscribe(
    { conversationId: conversation.id, content: question, clientMessageId: randomUUID() },
    {
      onData: ({ data: event }) => {
        if (event.type === "delta") process.stdout.write(event.text);
        if (event.type === "done" || event.type === "error") {
          subscription.unsubscribe();
          if (event.type === "error") console.error(`\n${event.message}`);
          else process.stdout.write("\n");
          resolve(event.type === "done" ? 0 : 1);
        }
      },
      onError: (error) => {
        console.error(`\n${error.message}`);
        resolve(1);
      },
    },
  );
});
process.exit(exitCode);
