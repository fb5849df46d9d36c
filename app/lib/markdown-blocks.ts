/**
 * Splits markdown that is still being written into the blocks that are settled and the tail
 * that may still change, so a streaming reply re-parses only its tail on each frame (parsing
 * the whole text every frame made a 3,000-token reply drop frames: p95 gap 33 ms, long tasks
 * up to 88 ms, see bench/long-conversation.ts).
 *
 * A block ends at a blank line outside a code fence when the next line starts a new top-level
 * block: not indented and not a list item, which could still belong to the list or item above.
 * Constructs that span such a break (footnotes, reference links) show as text until the reply
 * is done and rendered whole.
 */
export function settledBlocks(text: string): { settled: string[]; tail: string } {
  const settled: string[] = [];
  let blockStart = 0;
  let fence: string | null = null;
  let afterBlank = false;
  let lineStart = 0;
  while (lineStart < text.length) {
    const newline = text.indexOf("\n", lineStart);
    // The last line may be half written: it decides nothing yet.
    if (newline === -1) break;
    const line = text.slice(lineStart, newline);
    if (fence) {
      if (closesFence(line, fence)) fence = null;
    } else if (line.trim() === "") {
      afterBlank = true;
    } else {
      if (afterBlank && startsTopLevelBlock(line) && lineStart > blockStart) {
        settled.push(text.slice(blockStart, lineStart));
        blockStart = lineStart;
      }
      afterBlank = false;
      fence = opensFence(line);
    }
    lineStart = newline + 1;
  }
  return { settled, tail: text.slice(blockStart) };
}

function opensFence(line: string): string | null {
  return /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1] ?? null;
}

function closesFence(line: string, fence: string): boolean {
  const match = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line);
  return match !== null && match[1]![0] === fence[0] && match[1]!.length >= fence.length;
}

function startsTopLevelBlock(line: string): boolean {
  return !/^\s/.test(line) && !/^([-*+]|\d{1,9}[.)])(\s|$)/.test(line);
}
