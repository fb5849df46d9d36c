import { ServiceError } from "./errors";

/**
 * Every event stream (SSE) a client holds open, by person and session. An open stream costs a
 * connection, a timer and memory whatever it carries: ~20,000 `chat.resume` streams from one
 * account made the server answer nobody. Streams are capped per person and in all, and end at
 * once when access ends (the account disabled, the password changed, the session logged out).
 */
export interface StreamLimits {
  /** Streams one person may hold open at once (abuse limit: off with RATE_LIMITS=off). */
  perUser: number;
  /** Streams the server holds open at once, for everyone together. */
  total: number;
  enabled: boolean;
}

export interface OpenStream {
  /** Aborts when the client leaves, when access ends, or at shutdown. */
  readonly signal: AbortSignal;
  /** Why the server ended the stream (access ended), if it did. */
  readonly endedBecause: ServiceError | null;
  close(): void;
}

interface Entry {
  userId: string;
  sessionId: string;
  controller: AbortController;
  endedBecause: ServiceError | null;
}

export class OpenStreams {
  private readonly open = new Set<Entry>();
  private readonly perUser = new Map<string, number>();
  private emptied: (() => void) | null = null;

  constructor(private readonly limits: StreamLimits) {}

  get size(): number {
    return this.open.size;
  }

  /** Opens a stream for a signed-in session; throws TOO_MANY_REQUESTS past the caps. */
  openFor(owner: { userId: string; sessionId: string }, clientGone: AbortSignal | undefined): OpenStream {
    const mine = this.perUser.get(owner.userId) ?? 0;
    if (this.limits.enabled && mine >= this.limits.perUser) {
      throw new ServiceError(
        "TOO_MANY_REQUESTS",
        `You have ${this.limits.perUser} replies open in other tabs or windows. Close some of them and try again.`,
        undefined,
        5,
      );
    }
    if (this.open.size >= this.limits.total) {
      throw new ServiceError(
        "TOO_MANY_REQUESTS",
        "The server is following as many replies as it can. Try again in a moment.",
        undefined,
        5,
      );
    }
    const entry: Entry = { ...owner, controller: new AbortController(), endedBecause: null };
    this.open.add(entry);
    this.perUser.set(owner.userId, mine + 1);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      clientGone?.removeEventListener("abort", close);
      entry.controller.abort();
      this.open.delete(entry);
      const left = (this.perUser.get(owner.userId) ?? 1) - 1;
      if (left > 0) this.perUser.set(owner.userId, left);
      else this.perUser.delete(owner.userId);
      if (this.open.size === 0) this.emptied?.();
    };
    if (clientGone?.aborted) close();
    else clientGone?.addEventListener("abort", close, { once: true });
    return {
      signal: entry.controller.signal,
      get endedBecause() {
        return entry.endedBecause;
      },
      close,
    };
  }

  /** Ends a person's streams: all of them, or all but one session's (a password change). */
  endForUser(userId: string, options: { exceptSessionId?: string; reason: string }): number {
    return this.end((entry) => entry.userId === userId && entry.sessionId !== options.exceptSessionId, options.reason);
  }

  endForSession(sessionId: string, reason: string): number {
    return this.end((entry) => entry.sessionId === sessionId, reason);
  }

  /** Waits, up to `ms`, for every stream to end (shutdown: their last events go out first). */
  async drained(ms: number): Promise<void> {
    if (this.open.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => (this.emptied = resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
    ]);
    clearTimeout(timer);
    this.emptied = null;
  }

  private end(matches: (entry: Entry) => boolean, reason: string): number {
    let ended = 0;
    for (const entry of this.open) {
      if (!matches(entry)) continue;
      entry.endedBecause = new ServiceError("UNAUTHORIZED", reason);
      entry.controller.abort();
      ended++;
    }
    return ended;
  }
}
