import { useNavigation } from "@remix-run/react";
import { useEffect, useRef } from "react";

/**
 * After a failed submission: empty the password fields (as the page without JavaScript
 * would, since the server never sends a password back) and move focus to the first field
 * with an error, so keyboard and screen-reader users land where they need to act.
 */
export function useResetAfterFailure(result: unknown, passwordFields: string[]) {
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    const form = formRef.current;
    if (!result || !form) return;
    for (const name of passwordFields) {
      const input = form.elements.namedItem(name);
      if (input instanceof HTMLInputElement) input.value = "";
    }
    const target =
      form.querySelector<HTMLInputElement>("[aria-invalid='true']") ?? form.querySelector<HTMLInputElement>("input[type='password']");
    target?.focus();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- runs once per result
  }, [result]);
  return formRef;
}

/**
 * What a form with password fields needs on each render: whether it is being sent, the
 * messages beside its fields, and the reset above.
 */
export function usePasswordForm(result: { fieldErrors?: Record<string, string> } | undefined, passwordFields: string[]) {
  const busy = useNavigation().state === "submitting";
  const formRef = useResetAfterFailure(result, passwordFields);
  return { busy, errors: result?.fieldErrors ?? {}, formRef };
}
