import { tracked } from "@trpc/server";
import {
  messageIdInput,
  messageIdOfEventId,
  regenerateInput,
  regenerateReply,
  replyEvents,
  resumeInput,
  sendAndWait,
  sendMessageInput,
  startedReplyEvents,
  startReply,
  stopReply,
  streamInput,
} from "../../services/chat";
import { createTRPCRouter, protectedProcedure, waitingProcedure } from "../init";

export const chatRouter = createTRPCRouter({
  send: waitingProcedure.input(sendMessageInput).mutation(({ ctx, input }) => sendAndWait(ctx, ctx.user.id, input, ctx.streamSignal)),

  /**
   * Starts a reply and streams it. A reconnect (tRPC sends the last event id) follows the
   * same reply from where it left off instead of sending the message again.
   */
  stream: protectedProcedure.input(streamInput).subscription(async function* ({ ctx, input }) {
    const until = ctx.streamSignal;
    const resumed = messageIdOfEventId(input.lastEventId);
    const events = resumed
      ? replyEvents(ctx, ctx.user.id, { messageId: resumed, lastEventId: input.lastEventId }, until)
      : startedReplyEvents(ctx, await startReply(ctx, ctx.user.id, input), until);
    for await (const event of events) yield tracked(event.id, event.data);
  }),

  resume: protectedProcedure.input(resumeInput).subscription(async function* ({ ctx, input }) {
    const events = replyEvents(ctx, ctx.user.id, input, ctx.streamSignal);
    for await (const event of events) yield tracked(event.id, event.data);
  }),

  /** Replaces the latest reply with a new one; follow it with `chat.resume`. */
  regenerate: protectedProcedure
    .input(regenerateInput)
    .mutation(async ({ ctx, input }) => ({ assistantMessage: await regenerateReply(ctx, ctx.user.id, input.messageId, input.model) })),

  stop: protectedProcedure.input(messageIdInput).mutation(({ ctx, input }) => stopReply(ctx, ctx.user.id, input.messageId)),
});
