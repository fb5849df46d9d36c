/**
 * The text of the reply being streamed, outside React state: only the component showing it
 * subscribes, and it is told at most once per animation frame however fast tokens arrive,
 * so a long reply never re-renders the rest of the conversation.
 */
export class LiveText {
  private listeners = new Set<() => void>();
  private scheduled = false;

  constructor(
    readonly messageId: string,
    private text = "",
  ) {}

  append(delta: string) {
    this.text += delta;
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      for (const listener of this.listeners) listener();
    });
  }

  get length() {
    return this.text.length;
  }

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = () => this.text;
}
