import { json, type AppLoadContext } from "@remix-run/node";
import type { FormFailure } from "./form-failure";

const STATUS_BY_CODE: Record<string, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TOO_MANY_REQUESTS: 429,
  SERVICE_UNAVAILABLE: 503,
};

/**
 * Turns a failed procedure call into the data a form re-renders with: messages beside
 * their fields, the rest above the form, and the values typed so far (never passwords).
 */
export function formFailure<Values>(context: AppLoadContext, error: unknown, values: Values) {
  const described = context.describeError(error);
  if (described.code === "INTERNAL_SERVER_ERROR") context.logError(error, "form action failed");
  const fieldErrors = described.fieldErrors;
  const hasFieldMessage = Object.keys(fieldErrors).length > 0;
  const body: FormFailure<Values> = {
    ok: false,
    formError: hasFieldMessage ? null : described.message,
    fieldErrors,
    values,
  };
  return json(body, { status: STATUS_BY_CODE[described.code] ?? 500 });
}

/** A form refused before any procedure ran: the message beside its field, as formFailure shows it. */
export function fieldFailure<Values>(field: string, message: string, values: Values) {
  const body: FormFailure<Values> = { ok: false, formError: null, fieldErrors: { [field]: message }, values };
  return json(body, { status: 400 });
}

export function formText(formData: FormData, name: string): string {
  const value = formData.get(name);
  return typeof value === "string" ? value : "";
}
