import { TRPCError } from "@trpc/server";
import { z, ZodError } from "zod";
import { ServiceError } from "../services/errors";

export interface DescribedError {
  /** For a person to read. */
  message: string;
  /** Messages keyed by input field, for forms that show them beside the field. */
  fieldErrors: Record<string, string>;
  code: TRPCError["code"];
}

const GENERIC_MESSAGE = "Something went wrong on our side. Try again in a moment.";

/** One readable account of any error a procedure throws, used by the wire and by the pages. */
export function describeError(error: unknown): DescribedError {
  const cause = error instanceof TRPCError ? error.cause : error;
  const code = error instanceof TRPCError ? error.code : "INTERNAL_SERVER_ERROR";
  if (cause instanceof ZodError) return describeZodError(cause);
  if (cause instanceof ServiceError) {
    return { code: cause.code, message: cause.message, fieldErrors: cause.field ? { [cause.field]: cause.message } : {} };
  }
  if (code === "INTERNAL_SERVER_ERROR" || !(error instanceof TRPCError)) {
    return { code: "INTERNAL_SERVER_ERROR", message: GENERIC_MESSAGE, fieldErrors: {} };
  }
  return { code, message: error.message, fieldErrors: {} };
}

function describeZodError(error: ZodError): DescribedError {
  const fieldErrors: Record<string, string> = {};
  for (const issue of error.issues) {
    const field = issue.path.join(".") || "input";
    fieldErrors[field] ??= issue.message;
  }
  const message = Object.entries(fieldErrors)
    .map(([field, text]) => (field === "input" ? text : `${field}: ${text}`))
    .join(" ");
  return { code: "BAD_REQUEST", message: message || "The request is not valid.", fieldErrors };
}

export function flattenZodError(error: unknown) {
  return error instanceof ZodError ? z.flattenError(error) : null;
}
