import { renderToString } from "katex";
import { provideKatex } from "./math";

// The server renders formulas from the start: saved replies arrive as math, not as TeX.
provideKatex(renderToString);
