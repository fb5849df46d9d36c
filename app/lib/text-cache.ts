/**
 * Values computed from texts, kept for the texts used most recently up to a total length:
 * a text's length stands for what its value costs to keep. Texts longer than an eighth of the
 * budget are computed every time rather than push out everything else.
 */
export class TextCache<T> {
  // A Map iterates in insertion order: re-inserting on use makes the first entry the oldest.
  private readonly values = new Map<string, T>();
  private chars = 0;

  constructor(private readonly maxChars: number) {}

  /** The value for `text`, computed by `compute` unless kept; kept afterwards if `keep`. */
  get(text: string, keep: boolean, compute: (text: string) => T): T {
    const kept = this.values.get(text);
    if (kept !== undefined) {
      this.values.delete(text);
      this.values.set(text, kept);
      return kept;
    }
    const value = compute(text);
    if (keep && text.length <= this.maxChars / 8) this.add(text, value);
    return value;
  }

  get size(): { entries: number; chars: number } {
    return { entries: this.values.size, chars: this.chars };
  }

  private add(text: string, value: T) {
    this.values.set(text, value);
    this.chars += text.length;
    for (const oldest of this.values.keys()) {
      if (this.chars <= this.maxChars) break;
      this.values.delete(oldest);
      this.chars -= oldest.length;
    }
  }
}
