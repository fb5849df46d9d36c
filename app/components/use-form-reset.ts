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
