import { tracked } from "@trpc/server";
import {
  compareInput,
  messageIdInput,
  regenerateInput,
  regenerateReply,
  resumeInput,
  editMessage,
  editMessageInput,
  sendAndWait,
  sendMessageInput,
  startComparison,
  startReplyMessages,
  stopReply,
  streamInput,
} from "../../services/replies";
import { replyEvents, streamReply } from "../../services/reply-events";
import { createTRPCRouter, protectedProcedure, waitingProcedure } from "../init";

export const chatRouter = createTRPCRouter({
  send: waitingProcedure.input(sendMessageInput).mutation(({ ctx, input }) => sendAndWait(ctx, ctx.user.id, input, ctx.streamSignal)),

  /**
   * Starts a reply and answers at once; follow it with `chat.resume`. The message travels in
   * the body: a stream's input travels in its URL, which servers and proxies cap at 8–16 KB.
   */
  start: protectedProcedure.input(sendMessageInput).mutation(({ ctx, input }) => startReplyMessages(ctx, ctx.user.id, input)),

  /** One message to two or three models: each reply a version, followed by `chat.resume`. */
  compare: protectedProcedure.input(compareInput).mutation(({ ctx, input }) => startComparison(ctx, ctx.user.id, input)),

  /** Edit and resend: a new version of a message, answered at once; follow the reply with `chat.resume`. */
  edit: protectedProcedure.input(editMessageInput).mutation(({ ctx, input }) => editMessage(ctx, ctx.user.id, input)),

  /** Starts a reply and streams it; a reconnect follows the same reply from where it left off. */
  stream: protectedProcedure.input(streamInput).subscription(async function* ({ ctx, input }) {
    for await (const event of streamReply(ctx, ctx.user.id, input, ctx.streamSignal)) yield tracked(event.id, event.data);
  }),

  resume: protectedProcedure.input(resumeInput).subscription(async function* ({ ctx, input }) {
    for await (const event of replyEvents(ctx, ctx.user.id, input, ctx.streamSignal)) yield tracked(event.id, event.data);
  }),

  /** A new version of the latest reply (the old one is kept, not shown); follow it with `chat.resume`. */
  regenerate: protectedProcedure
    .input(regenerateInput)
    .mutation(async ({ ctx, input }) => ({ assistantMessage: await regenerateReply(ctx, ctx.user.id, input) })),

  stop: protectedProcedure.input(messageIdInput).mutation(({ ctx, input }) => stopReply(ctx, ctx.user.id, input)),
});
