/**
 * What a service says when a request cannot be served. The codes are tRPC's, so the
 * router maps them one to one; services themselves know nothing of tRPC or Remix.
 */
export type ServiceErrorCode = "BAD_REQUEST" | "UNAUTHORIZED" | "FORBIDDEN" | "NOT_FOUND" | "CONFLICT" | "TOO_MANY_REQUESTS";

export class ServiceError extends Error {
  override name = "ServiceError";
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    /** The input field the message is about, so forms can show it beside that field. */
    readonly field?: string,
    /** For TOO_MANY_REQUESTS: when trying again can succeed. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}
