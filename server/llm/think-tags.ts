/**
 * Servers that do not split a reasoning model's thinking from its answer (llama.cpp with
 * `--reasoning-format none`, older vLLM and Ollama builds, many proxies) send it inline:
 * `<think>…</think>` at the very start of the content. This turns that into the same two
 * parts a splitting server sends, as the text streams in and whatever the chunk boundaries.
 */
const OPEN = "<think>";
const CLOSE = "</think>";

export type ContentPart = { type: "delta" | "reasoning"; text: string };

export class ThinkTagSplitter {
  private state: "start" | "thinking" | "answer-start" | "answer" = "start";
  private pending = "";

  push(text: string): ContentPart[] {
    if (this.state === "answer") return text ? [{ type: "delta", text }] : [];
    this.pending += text;
    return this.drain();
  }

  /** The stream ended: whatever is held back is what it looked like. */
  end(): ContentPart[] {
    const rest = this.pending;
    this.pending = "";
    if (!rest) return [];
    if (this.state === "thinking") return [{ type: "reasoning", text: rest }];
    return this.state === "answer-start" && rest.trim() === "" ? [] : [{ type: "delta", text: rest }];
  }

  private drain(): ContentPart[] {
    const parts: ContentPart[] = [];
    for (;;) {
      if (this.state === "start") {
        const head = this.pending.trimStart();
        if (head.startsWith(OPEN)) {
          this.pending = head.slice(OPEN.length);
          this.state = "thinking";
          continue;
        }
        // Could still become `<think>`: wait for the next chunk.
        if (OPEN.startsWith(head)) return parts;
        this.state = "answer";
        return this.flushAnswer(parts);
      }
      if (this.state === "thinking") {
        const close = this.pending.indexOf(CLOSE);
        if (close === -1) {
          // Keep back what could be the start of `</think>` split across chunks.
          const keep = partialSuffix(this.pending, CLOSE);
          const thought = this.pending.slice(0, this.pending.length - keep);
          this.pending = this.pending.slice(this.pending.length - keep);
          if (thought) parts.push({ type: "reasoning", text: thought });
          return parts;
        }
        const thought = this.pending.slice(0, close);
        if (thought) parts.push({ type: "reasoning", text: thought });
        this.pending = this.pending.slice(close + CLOSE.length);
        this.state = "answer-start";
        continue;
      }
      // The blank lines between `</think>` and the answer belong to neither.
      const answer = this.pending.trimStart();
      if (!answer) {
        this.pending = "";
        return parts;
      }
      this.pending = answer;
      this.state = "answer";
      return this.flushAnswer(parts);
    }
  }

  private flushAnswer(parts: ContentPart[]): ContentPart[] {
    if (this.pending) parts.push({ type: "delta", text: this.pending });
    this.pending = "";
    return parts;
  }
}

/** How many characters at the end of `text` are the beginning of `tag`. */
function partialSuffix(text: string, tag: string): number {
  for (let length = Math.min(tag.length - 1, text.length); length > 0; length--) {
    if (text.endsWith(tag.slice(0, length))) return length;
  }
  return 0;
}
