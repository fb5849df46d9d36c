import { createTRPCRouter, protectedProcedure } from "../init";

export const modelsRouter = createTRPCRouter({
  list: protectedProcedure.query(({ ctx }) => ctx.models),
});
