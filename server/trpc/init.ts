import { initTRPC, TRPCError } from "@trpc/server";
import { DatabaseUnavailableError, unavailableReason } from "../db/write-gate";
import { ServiceError } from "../services/errors";
import type { OpenStream } from "../services/open-streams";
import type { Context } from "./context";
import { describeError, flattenZodError } from "./errors";

const t = initTRPC.context<Context>().create({
  isDev: process.env.NODE_ENV !== "production",
  // A `ping` event every 15 s keeps proxies from closing a quiet stream (a model thinking before its
  // first token); a client that hears nothing for 40 s reconnects and resumes.
  sse: { ping: { enabled: true, intervalMs: 15_000 }, client: { reconnectAfterInactivityMs: 40_000 } },
  errorFormatter({ shape, error }) {
    const described = describeError(error);
    return {
      ...shape,
      message: described.message,
      data: {
        ...shape.data,
        zodError: flattenZodError(error.cause),
        fieldErrors: described.fieldErrors,
        retryAfterSeconds: retryAfterSeconds(error.cause),
      },
    };
  },
});

/** When trying again can succeed: a limit's reset, or a moment for a locked database. */
export function retryAfterSeconds(cause: unknown): number | null {
  if (cause instanceof ServiceError) return cause.retryAfterSeconds ?? null;
  if (cause instanceof DatabaseUnavailableError && cause.reason === "locked") return 2;
  return null;
}

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Services throw ServiceError; the wire wants the matching tRPC code. A subscription's
 * errors happen later, while its events are read, so its stream is wrapped too.
 */
const serviceErrors = t.middleware(async ({ next, type }) => {
  const result = await next();
  if (!result.ok) {
    const known = knownError(result.error.cause);
    if (known) throw known;
  }
  if (result.ok && type === "subscription" && isAsyncIterable(result.data)) {
    return { ...result, data: rethrowServiceErrors(result.data) };
  }
  return result;
});

function toTRPCError(error: ServiceError): TRPCError {
  return new TRPCError({ code: error.code, message: error.message, cause: error });
}

/** A service's refusal, or a database that cannot write now (503), as the tRPC error to answer. */
function knownError(cause: unknown): TRPCError | null {
  if (cause instanceof ServiceError) return toTRPCError(cause);
  const reason = unavailableReason(cause);
  if (!reason) return null;
  const unavailable = cause instanceof DatabaseUnavailableError ? cause : new DatabaseUnavailableError(reason, cause);
  return new TRPCError({ code: "SERVICE_UNAVAILABLE", message: unavailable.message, cause: unavailable });
}

async function* rethrowServiceErrors<T>(events: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* events;
  } catch (error) {
    throw knownError(error) ?? error;
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}

/** Cookie-authenticated state changes must come from our own pages; bearer calls are exempt. */
const sameOriginForStateChanges = t.middleware(({ ctx, type, next }) => {
  if (type !== "query" && ctx.crossSite && ctx.credential !== "bearer") {
    throw new TRPCError({
      code: "FORBIDDEN",
      message: "This request came from another site and was refused. Use TeamGPT's own pages, or a bearer token from a script.",
    });
  }
  return next();
});

/** One log line a call: which procedure, who, how long, how it ended; never its input. */
const logCalls = t.middleware(async ({ ctx, path, type, next }) => {
  const started = performance.now();
  const result = await next();
  const fields = {
    requestId: ctx.requestId,
    userId: ctx.user?.id,
    procedure: path,
    type,
    ms: Math.round((performance.now() - started) * 10) / 10,
  };
  if (result.ok) ctx.logger.info(fields, "procedure");
  else if (result.error.code === "INTERNAL_SERVER_ERROR")
    ctx.logger.error({ ...fields, err: result.error.cause ?? result.error }, "procedure failed");
  else if (result.error.code === "SERVICE_UNAVAILABLE")
    ctx.logger.warn({ ...fields, reason: result.error.message }, "procedure failed: database");
  else ctx.logger.info({ ...fields, code: result.error.code }, "procedure refused");
  return result;
});

export const publicProcedure = t.procedure.use(logCalls).use(serviceErrors).use(sameOriginForStateChanges);

const signedIn = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user || !ctx.session || !ctx.token) {
    throw new TRPCError({ code: "UNAUTHORIZED", message: "You are not logged in, or your session has expired. Log in again." });
  }
  return next({ ctx: { user: ctx.user, session: ctx.session, token: ctx.token } });
});

const NEVER = new AbortController().signal;

/**
 * A subscription holds an event stream open: it is counted against the caps (OpenStreams),
 * and `ctx.streamSignal` aborts when the client leaves or when access ends (the stream then
 * closes with UNAUTHORIZED). Queries and mutations get the request's signal.
 */
export const protectedProcedure = signedIn.use(async ({ ctx, type, signal, next }) => {
  if (type !== "subscription") return next({ ctx: { streamSignal: signal ?? NEVER } });
  const stream = ctx.streams.openFor({ userId: ctx.user.id, sessionId: ctx.session.id }, signal);
  const result = await next({ ctx: { streamSignal: stream.signal } });
  if (!result.ok || !isAsyncIterable(result.data)) {
    stream.close();
    return result;
  }
  return { ...result, data: endedWith(stream, result.data) };
});

/**
 * A call that holds its connection until a reply is written (chat.send) costs what a stream
 * does: it counts against the same caps (12,000 waiting chat.send calls on one reply took the
 * server to 750 MB), and ends with UNAUTHORIZED when access ends.
 */
export const waitingProcedure = signedIn.use(async ({ ctx, signal, next }) => {
  const stream = ctx.streams.openFor({ userId: ctx.user.id, sessionId: ctx.session.id }, signal);
  try {
    const result = await next({ ctx: { streamSignal: stream.signal } });
    if (stream.endedBecause) throw toTRPCError(stream.endedBecause);
    return result;
  } finally {
    stream.close();
  }
});

/** The events, then the reason the server ended the stream, if it did; the stream is closed however it ends. */
async function* endedWith<T>(stream: OpenStream, events: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    for await (const event of events) {
      if (stream.endedBecause) break;
      yield event;
    }
    if (stream.endedBecause) throw toTRPCError(stream.endedBecause);
  } finally {
    stream.close();
  }
}

export const adminProcedure = protectedProcedure.use(({ ctx, next }) => {
  if (ctx.user.role !== "admin") throw new TRPCError({ code: "FORBIDDEN", message: "Only admins can do this." });
  return next();
});
