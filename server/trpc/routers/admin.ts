import {
  generateKeys,
  generateKeysInput,
  keyIdInput,
  listKeys,
  listKeysInput,
  loadKeys,
  loadKeysInput,
  revokeKey,
} from "../../services/registration-keys";
import { modelStatus } from "../../services/model-status";
import { connectionIdInput, listConnections, testConnection } from "../../services/connections";
import { createResetLink, resetLinkInput } from "../../services/password-resets";
import { listUsers, setDisabled, setDisabledInput, setRole, setRoleInput } from "../../services/user-admin";
import { adminProcedure, createTRPCRouter } from "../init";

const keysRouter = createTRPCRouter({
  list: adminProcedure.input(listKeysInput).query(({ ctx, input }) => listKeys(ctx, input)),

  generate: adminProcedure.input(generateKeysInput).mutation(({ ctx, input }) => ({ keys: generateKeys(ctx, ctx.user.id, input) })),

  load: adminProcedure.input(loadKeysInput).mutation(({ ctx, input }) => loadKeys(ctx, ctx.user.id, input)),

  revoke: adminProcedure.input(keyIdInput).mutation(({ ctx, input }) => revokeKey(ctx, input)),
});

const usersRouter = createTRPCRouter({
  list: adminProcedure.query(({ ctx }) => ({ items: listUsers(ctx) })),
  setDisabled: adminProcedure.input(setDisabledInput).mutation(({ ctx, input }) => setDisabled(ctx, ctx.user.id, input)),
  setRole: adminProcedure.input(setRoleInput).mutation(({ ctx, input }) => setRole(ctx, input)),
  /** A one-time link (24 hours) with which the person chooses a new password; shown once. */
  resetLink: adminProcedure.input(resetLinkInput).mutation(({ ctx, input }) => createResetLink(ctx, ctx.user.id, input)),
});

const modelsRouter = createTRPCRouter({
  status: adminProcedure.query(({ ctx }) => modelStatus(ctx)),
});

const connectionsRouter = createTRPCRouter({
  list: adminProcedure.query(({ ctx }) => ({ items: listConnections(ctx) })),
  /** Asks the server for its models: reachable, key accepted, every offered model there; with the time it took. */
  test: adminProcedure.input(connectionIdInput).mutation(({ ctx, input }) => testConnection(ctx, input)),
});

export const adminRouter = createTRPCRouter({ keys: keysRouter, users: usersRouter, models: modelsRouter, connections: connectionsRouter });
