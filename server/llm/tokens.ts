import { countTokens } from "gpt-tokenizer/encoding/cl100k_base";

/**
 * Token estimates for trimming history and for usage a model server did not report.
 *
 * gpt-tokenizer's cl100k_base is a maintained, pure-JS copy of OpenAI's tokenizer; the
 * vocabularies of Llama 3 and Qwen grew out of it, so its counts stay close for the models
 * teams run themselves too (and the context window learns from the server when they are not,
 * see context-window.ts). cl100k loads in ~0.2 s and ~25 MB less memory than o200k.
 *
 * Its byte-pair merge is quadratic in the length of one pre-tokenized piece: 90,000 CJK
 * characters (no spaces, so one piece) took 53 s, 100,000 × "a" 7 s. Counting in slices of
 * 1,000 characters bounds that (90,000 CJK characters: 70 ms) and adds about 0.4%.
 */
const SLICE_CHARS = 1_000;

export function estimateTokens(text: string): number {
  let tokens = 0;
  for (let start = 0; start < text.length; start += SLICE_CHARS) {
    tokens += countTokens(text.slice(start, start + SLICE_CHARS));
  }
  return tokens;
}

/** What a chat template adds around each message (role markers), and before the reply. */
export const TOKENS_PER_MESSAGE = 4;
export const TOKENS_BEFORE_REPLY = 3;
