/**
 * Values computed from texts, kept for the texts used most recently up to a total size: a
 * text's length plus its value's `sizeOf`, both in characters. Entries larger than an eighth
 * of the budget are computed every time rather than push out everything else.
 */
export class TextCache<T> {
  // A Map iterates in insertion order: re-inserting on use makes the first entry the oldest.
  private readonly values = new Map<string, { value: T; size: number }>();
  private chars = 0;

  constructor(
    private readonly maxChars: number,
    private readonly sizeOf: (value: T) => number = () => 0,
  ) {}

  /** The value for `text`, computed by `compute` unless kept; kept afterwards if `keep`. */
  get(text: string, keep: boolean, compute: (text: string) => T): T {
    const kept = this.values.get(text);
    if (kept !== undefined) {
      this.values.delete(text);
      this.values.set(text, kept);
      return kept.value;
    }
    const value = compute(text);
    const size = text.length + this.sizeOf(value);
    if (keep && size <= this.maxChars / 8) this.add(text, value, size);
    return value;
  }

  get size(): { entries: number; chars: number } {
    return { entries: this.values.size, chars: this.chars };
  }

  private add(text: string, value: T, size: number) {
    this.values.set(text, { value, size });
    this.chars += size;
    for (const [oldest, entry] of this.values) {
      if (this.chars <= this.maxChars) break;
      this.values.delete(oldest);
      this.chars -= entry.size;
    }
  }
}
