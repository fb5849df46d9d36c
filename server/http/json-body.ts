import type { NextFunction, Request, Response } from "express";
import { sendApiError } from "./api-errors";
import { describeBytes, type BodyBudget, type BodyRefusal } from "./body-budget";

/**
 * No input of ours nests deeper than a handful of levels; a 4 MB `[[[…]]]` parsed into objects
 * blocked the event loop ~1 s per request (JSON.parse, then validation walking it). Past this
 * depth a body is refused before it is parsed.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether JSON text nests arrays and objects deeper than `max`: one linear pass over the text,
 * skipping strings (whose brackets are not structure). Malformed text is left to the parser.
 */
export function jsonNestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c /* \ */) i++;
      else if (code === 0x22 /* " */) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x5b /* [ */ || code === 0x7b /* { */) {
      if (++depth > max) return true;
    } else if (code === 0x5d /* ] */ || code === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}

/**
 * Reads an API request's body before tRPC does, refusing one over the limit limitBodies set for
 * its sender (413), one that would take more memory than the budget has left (429/503), or one
 * nested too deeply (400); then hands tRPC the text (its adapter takes a string `req.body` as
 * is). Errors have tRPC's shape, so clients read them like any other.
 */
export function readApiBody(
  budget: BodyBudget,
  client: (req: Request) => string,
  refuseBody: (res: Response, refusal: BodyRefusal) => void,
) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== "POST") return next();
    const maxBytes = Number(res.locals.bodyLimit);
    const sender = client(req);
    const chunks: Buffer[] = [];
    let size = 0;
    // What this body holds of the budget goes back once it is complete, or the exchange ends.
    let settled = false;
    const giveBack = () => {
      if (settled) return;
      settled = true;
      budget.give(sender, size);
    };
    res.once("close", giveBack);
    const stop = (refusal: BodyRefusal) => {
      giveBack();
      req.off("data", onData);
      req.off("end", onEnd);
      req.resume(); // the rest is read and dropped; the connection closes after the answer
      refuseBody(res, refusal);
    };
    const onData = (chunk: Buffer) => {
      if (size + chunk.length > maxBytes)
        return stop({ status: 413, message: `The request is too large (at most ${describeBytes(maxBytes)}).` });
      const refusal = budget.take(sender, chunk.length);
      if (refusal) return stop(refusal);
      size += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = () => {
      giveBack();
      const text = Buffer.concat(chunks).toString("utf8");
      if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) {
        sendApiError(res, 400, "BAD_REQUEST", `The request's JSON is nested too deeply (more than ${MAX_JSON_DEPTH} levels).`);
        return;
      }
      req.body = text;
      next();
    };
    req.on("data", onData);
    req.once("end", onEnd);
    // The client went away before its body was sent: nobody is left to answer.
    req.once("error", () => req.destroy());
  };
}
