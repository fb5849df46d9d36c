import type { RouterOutputs } from "../../client";

type StreamEvent = RouterOutputs["chat"]["stream"] extends AsyncIterable<infer E> ? E : never;
/** Waiting for a busy model server, or for one loading its model; null once tokens flow. */
export type ReplyPhase = Extract<StreamEvent["data"], { type: "status" }>["status"];

/** What the reply being streamed shows: a new object each frame something changed. */
export interface LiveSnapshot {
  text: string;
  reasoning: string;
  phase: ReplyPhase;
  /** Once the answer started, how long the thinking took (for "Thought for 12 s"); null if unknown. */
  thoughtMs: number | null;
}

/**
 * The reply being streamed, outside React state: only the component showing it subscribes,
 * and it is told at most once per animation frame however fast tokens arrive, so a long reply
 * never re-renders the rest of the conversation.
 */
export class LiveText {
  private listeners = new Set<() => void>();
  private scheduled = false;
  private snapshot: LiveSnapshot;
  private text: string;
  private reasoning: string;
  private phase: ReplyPhase = null;
  private thinkingSince: number | null = null;
  private thoughtMs: number | null = null;

  constructor(
    readonly messageId: string,
    text = "",
    reasoning = "",
  ) {
    this.text = text;
    this.reasoning = reasoning;
    // Followed from the middle (a reload): when the thinking began is not known here.
    this.snapshot = this.take();
  }

  append(delta: string) {
    if (this.thinkingSince !== null && this.thoughtMs === null) this.thoughtMs = performance.now() - this.thinkingSince;
    this.text += delta;
    this.phase = null;
    this.changed();
  }

  appendReasoning(delta: string) {
    if (!this.reasoning) this.thinkingSince = performance.now();
    this.reasoning += delta;
    this.phase = null;
    this.changed();
  }

  setPhase(phase: ReplyPhase) {
    this.phase = phase;
    this.changed();
  }

  /** Adds a stream event's text, thinking or phase (the events that start and end a reply are the caller's). */
  apply(data: Extract<StreamEvent["data"], { type: "delta" | "reasoning" | "status" }>) {
    if (data.type === "delta") this.append(data.text);
    else if (data.type === "reasoning") this.appendReasoning(data.text);
    else this.setPhase(data.status);
  }

  /** The resume position, as the server writes event ids: `<id>:<text seen>[.<thinking seen>]`. */
  get lastEventId(): string | null {
    if (!this.text && !this.reasoning) return null;
    return `${this.messageId}:${this.text.length}${this.reasoning ? `.${this.reasoning.length}` : ""}`;
  }

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = () => this.snapshot;

  private changed() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.snapshot = this.take();
      for (const listener of this.listeners) listener();
    });
  }

  private take(): LiveSnapshot {
    const { text, reasoning, phase, thoughtMs } = this;
    return { text, reasoning, phase, thoughtMs };
  }
}
