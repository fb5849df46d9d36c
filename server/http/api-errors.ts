import { TRPC_ERROR_CODES_BY_KEY } from "@trpc/server/rpc";
import type { Response } from "express";

type ErrorCode = keyof typeof TRPC_ERROR_CODES_BY_KEY;

/**
 * An error answered before tRPC sees the request (a refused batch or body), in tRPC's own
 * shape, so clients read it like any other: `error.message`, `error.data.code`, `error.data.httpStatus`.
 */
export function sendApiError(res: Response, status: number, code: ErrorCode, message: string): void {
  res.status(status).json({ error: { message, code: TRPC_ERROR_CODES_BY_KEY[code], data: { code, httpStatus: status } } });
}
