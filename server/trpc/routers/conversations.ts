import {
  conversationIdInput,
  createConversation,
  createConversationInput,
  deleteConversation,
  deleteMessage,
  deleteMessageInput,
  getConversation,
  getConversationInput,
  listConversations,
  listConversationsInput,
  renameConversationInput,
  showBranch,
  showBranchInput,
  updateConversation,
  updateConversationInput,
} from "../../services/conversations";
import { createTRPCRouter, protectedProcedure } from "../init";

export const conversationsRouter = createTRPCRouter({
  list: protectedProcedure.input(listConversationsInput).query(({ ctx, input }) => listConversations(ctx, ctx.user.id, input)),

  create: protectedProcedure.input(createConversationInput).mutation(({ ctx, input }) => createConversation(ctx, ctx.user.id, input)),

  get: protectedProcedure.input(getConversationInput).query(({ ctx, input }) => getConversation(ctx, ctx.user.id, input)),

  rename: protectedProcedure.input(renameConversationInput).mutation(({ ctx, input }) => updateConversation(ctx, ctx.user.id, input)),

  update: protectedProcedure.input(updateConversationInput).mutation(({ ctx, input }) => updateConversation(ctx, ctx.user.id, input)),

  /** Shows another version: the branch through a message, answered as `get` pages it. */
  showBranch: protectedProcedure.input(showBranchInput).mutation(({ ctx, input }) => showBranch(ctx, ctx.user.id, input)),

  /** Deletes a message with everything after it (every branch from it), answered as `get` pages the branch then shown. */
  deleteMessage: protectedProcedure.input(deleteMessageInput).mutation(({ ctx, input }) => deleteMessage(ctx, ctx.user.id, input)),

  delete: protectedProcedure.input(conversationIdInput).mutation(({ ctx, input }) => {
    deleteConversation(ctx, ctx.user.id, input);
    return { ok: true as const };
  }),
});
