/** What a refused form post answers (see forms.server.ts), for the page to show again. */
export interface FormFailure<Values> {
  ok: false;
  formError: string | null;
  fieldErrors: Record<string, string>;
  values: Values;
}

/** The whole of what a refused form post said, for a page with no field to show it beside. */
export function failureMessage(failure: Pick<FormFailure<unknown>, "formError" | "fieldErrors"> | undefined): string | null {
  if (!failure) return null;
  return failure.formError ?? (Object.values(failure.fieldErrors).join(" ") || null);
}
