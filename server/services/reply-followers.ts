/**
 * A reply's followers (the streams and waits following it), woken together when its text
 * grows: at most once per batch window, on one timer shared by every running reply.
 * generation.ts owns the reply; this file owns when the people following it hear of it.
 */

/**
 * The shortest time between two wake-ups of a reply's followers while text arrives. Tokens
 * that arrive within one window go out as one event: a browser paints at most once a frame
 * anyway, and every event costs the server CPU (bench/README.md, "Batching deltas"). 15 ms keeps the pauses a
 * reader sees within about twice the model's own (10–15 ms a token); widening it already at 100
 * replies made their p99 gap 2.0–2.4× the model's for 7% less CPU. Past 100 running replies
 * it widens, up to 25 updates a second at 500, so the server keeps up with all of them
 * instead of falling behind on each.
 */
export function batchWindowMs(runningReplies: number): number {
  return Math.min(40, 15 + Math.max(0, Math.floor((runningReplies - 100) / 16)));
}

/** What the ticker wakes at the end of a window. */
interface Wakeable {
  wakeNow(): void;
}

/** The followers of one reply: each waits with a wake-up function until there is news. */
export class ReplyFollowers {
  private readonly waiting = new Set<() => void>();
  private lastWake = -Infinity;
  private scheduled = false;

  constructor(private readonly ticker: BatchTicker) {}

  wait(wake: () => void): void {
    this.waiting.add(wake);
  }

  forget(wake: () => void): void {
    this.waiting.delete(wake);
  }

  /** New text: followers hear of it now, or when the current batch window closes. */
  changed(): void {
    if (this.scheduled) return;
    const wait = this.lastWake + this.ticker.windowMs() - performance.now();
    if (wait <= 0) {
      this.wakeNow();
    } else {
      this.scheduled = true;
      this.ticker.schedule(this, wait);
    }
  }

  /** Wakes every follower now (a phase change, the end; the ticker at a window's end). */
  wakeNow(): void {
    this.scheduled = false;
    this.lastWake = performance.now();
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const wake of waiting) wake();
  }
}

/**
 * One timer for the batched wake-ups of every running reply: with hundreds of replies the
 * server wakes once a window for all of them, not once a window for each.
 */
export class BatchTicker {
  private readonly due = new Set<Wakeable>();
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly windowMs: () => number) {}

  /** Wakes `followers` at the next beat, or in `waitMs` when none is due yet. */
  schedule(followers: Wakeable, waitMs: number): void {
    this.due.add(followers);
    this.timer ??= setTimeout(() => this.tick(), waitMs);
  }

  /** Wakes what is due and keeps the beat while text keeps coming; stops when nothing is due. */
  private tick(): void {
    const due = [...this.due];
    this.due.clear();
    for (const followers of due) followers.wakeNow();
    this.timer = due.length > 0 ? setTimeout(() => this.tick(), this.windowMs()) : undefined;
  }
}
